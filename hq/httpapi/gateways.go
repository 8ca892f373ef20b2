package httpapi

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Gateway is one gateway as the API shows it: its enrolment, its live state
// and what HQ holds of its event chain.
type Gateway struct {
	registry.Gateway
	Live  fleet.Gateway `json:"live"`
	Chain *ingest.Head  `json:"chain,omitempty"`
}

func (a *api) view(r *http.Request, g registry.Gateway) (Gateway, error) {
	v := Gateway{Gateway: g, Live: a.Fleet.Gateway(g.Centre, g.Gateway)}
	head, _, err := ingest.LoadHead(r.Context(), a.Chains, g.Centre, g.Gateway)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return v, err
	default:
		v.Chain = &head
	}
	return v, nil
}

func (a *api) gateways(w http.ResponseWriter, r *http.Request) error {
	centre := r.URL.Query().Get("centre")
	if centre != "" && !wire.ValidID(centre) {
		return badRequest("centre %q is not a valid ID", centre)
	}
	out := []Gateway{}
	for _, g := range a.Registry.List(centre) {
		v, err := a.view(r, g)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) gateway(w http.ResponseWriter, r *http.Request) error {
	g, ok := a.Registry.Get(r.PathValue("centre"), r.PathValue("gateway"))
	if !ok {
		return &httpError{http.StatusNotFound, "gateway not enrolled"}
	}
	v, err := a.view(r, g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Enrolment is the body of POST /api/v1/gateways.
type Enrolment struct {
	Centre    string `json:"centre"`
	Gateway   string `json:"gateway"`
	DeviceKey string `json:"device_key"` // base64 ed25519 public key, as 'seatgate key' prints it
	Note      string `json:"note,omitempty"`
	// Replace another device key already enrolled for this gateway (its
	// storage was replaced). Without it, that is refused.
	Replace bool `json:"replace,omitempty"`
}

func (a *api) enrol(w http.ResponseWriter, r *http.Request) error {
	var e Enrolment
	if err := decode(w, r, &e); err != nil {
		return err
	}
	key, err := base64.StdEncoding.DecodeString(e.DeviceKey)
	if err != nil {
		return badRequest("device_key: not base64: %v", err)
	}
	g, err := a.Registry.Enrol(r.Context(), registry.Gateway{Centre: e.Centre, Gateway: e.Gateway, DeviceKey: key, Note: e.Note}, e.Replace)
	if err != nil {
		return err
	}
	a.Logger.Info("gateway enrolled", "centre", g.Centre, "gateway", g.Gateway, "key_id", g.KeyID, "replace", e.Replace)
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (a *api) remove(w http.ResponseWriter, r *http.Request) error {
	c, g := r.PathValue("centre"), r.PathValue("gateway")
	if err := a.Registry.Remove(r.Context(), c, g); err != nil {
		return err
	}
	a.Logger.Info("gateway enrolment withdrawn", "centre", c, "gateway", g)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CertificateRequest is the body of POST .../certificate.
type CertificateRequest struct {
	// PublicKeyPEM is the public key (PEM "PUBLIC KEY") the certificate is
	// for, whose private half stays on the gateway. Empty: the gateway's
	// enrolled device key (ed25519).
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
	Days         int    `json:"days,omitempty"` // validity; default 730
}

// Certificate is the answer: the gateway's client certificate and the CA
// it and the broker chain to (the gateway's hq.ca).
type Certificate struct {
	CertPEM string `json:"cert_pem"`
	CAPEM   string `json:"ca_pem"`
}

func (a *api) certificate(w http.ResponseWriter, r *http.Request) error {
	g, ok := a.Registry.Get(r.PathValue("centre"), r.PathValue("gateway"))
	if !ok {
		return &httpError{http.StatusNotFound, "gateway not enrolled: enrol it first"}
	}
	var req CertificateRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	validity := a.CertValidity
	if req.Days != 0 {
		if err := validDays(req.Days); err != nil {
			return err
		}
		validity = time.Duration(req.Days) * 24 * time.Hour
	}
	var pub crypto.PublicKey = ed25519.PublicKey(g.DeviceKey)
	if req.PublicKeyPEM != "" {
		k, err := pki.ParsePublicKeyPEM([]byte(req.PublicKeyPEM))
		if err != nil {
			return badRequest("public_key_pem: %v", err)
		}
		pub = k
	}
	cert, _, err := a.CA.IssueGateway(g.Centre, g.Gateway, pub, validity)
	if err != nil {
		return badRequest("%v", err)
	}
	a.Logger.Info("gateway certificate issued", "centre", g.Centre, "gateway", g.Gateway, "days", int(validity.Hours()/24))
	writeJSON(w, http.StatusOK, Certificate{CertPEM: string(cert), CAPEM: string(a.CA.CertPEM())})
	return nil
}

// natsAuthorization renders the nats-server authorization block for the
// enrolled gateways, for an HQ that joins a NATS cluster it does not run
// (seathq configures the users of its embedded server itself).
func (a *api) natsAuthorization(w http.ResponseWriter, r *http.Request) error {
	var ids []broker.GatewayIdentity
	for _, g := range a.Registry.List("") {
		ids = append(ids, broker.GatewayIdentity{Centre: g.Centre, Gateway: g.Gateway})
	}
	user := r.URL.Query().Get("hq_user")
	if user == "" {
		user = a.ServiceUser
	}
	var buf bytes.Buffer
	if err := broker.WriteNATSAuthorization(&buf, user, ids); err != nil {
		return badRequest("%v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

// mosquittoACL renders Mosquitto's acl_file for the enrolled gateways and
// HQ's service user (the relay): write it, then send mosquitto SIGHUP.
func (a *api) mosquittoACL(w http.ResponseWriter, r *http.Request) error {
	var ids []broker.GatewayIdentity
	for _, g := range a.Registry.List("") {
		ids = append(ids, broker.GatewayIdentity{Centre: g.Centre, Gateway: g.Gateway})
	}
	var buf bytes.Buffer
	if err := broker.WriteMosquittoACL(&buf, []string{a.ServiceUser}, ids); err != nil {
		return badRequest("%v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

func validDays(n int) error {
	if n < 1 || n > 3650 {
		return badRequest("days %d: want 1 to 3650", n)
	}
	return nil
}
