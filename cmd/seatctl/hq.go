package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/httpapi"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/service"
	"github.com/pkfreelance/seatgate/sync/journal"
)

// The commands that talk to a running seathq over its HTTP API.
const hqUsage = `Through seathq's API (--hq URL, default $SEATHQ_URL or http://127.0.0.1:8480; the token from
--token-file, default $SEATHQ_TOKEN or DIR/api-token; --ca FILE pins the API's CA for https):
  seatctl members import --centre C [--dry-run] FILE.csv
                                            add or replace members and add cards from a CSV file
                                            (columns member_id,name,plan,valid_from,valid_until[,status,seats,cards])
  seatctl member put --centre C --id ID --name NAME --plan P --from DATE --until DATE [--seats any|zones:A B|seat:S]
  seatctl member suspend|resume|delete --centre C ID
  seatctl card add --centre C --member M UID
  seatctl card revoke --centre C UID
  seatctl plan put --centre C FILE.json     a plan: {"id","name","days":["mon",…],"windows":[{"start","end"}],"grace_days","price_pkr"}
  seatctl plan delete --centre C ID
  seatctl membership get --centre C --out FILE
                                            the centre's membership, signed (FILE and FILE.sig for 'seatgate members import')
  seatctl occupancy [--centre C]            national occupancy, or one centre's seats
  seatctl ledger --centre C --from DATE --to DATE
                                            seat-hours per day, with verification status
  seatctl gateways [--centre C]             enrolled gateways: state, last seen, boot, firmware, outbox
  seatctl gateway enrol --centre C --gateway G --device-key KEY [--note TEXT] [--replace]
  seatctl gateway remove --centre C --gateway G
  seatctl gateway cert --centre C --gateway G --out DIR [--public-key FILE] [--days N]
                                            the gateway's client certificate, for its device key unless --public-key
  seatctl hq keys                           HQ's public key (a gateway's hq.hq_key) and CA
  seatctl mosquitto-acl                     Mosquitto's acl_file for the enrolled gateways (then SIGHUP mosquitto)
  seatctl nats-authorization                nats-server's authorization block, for a NATS cluster seathq joins
` + rolloutUsage

// hqClient is an API client.
type hqClient struct {
	base  string
	token string
	http  *http.Client
}

// hqFlags adds the API flags to fs; call the returned function after
// parsing.
func hqFlags(fs *flag.FlagSet, dir *string) func() (*hqClient, error) {
	def := os.Getenv("SEATHQ_URL")
	if def == "" {
		def = "http://127.0.0.1:8480"
	}
	base := fs.String("hq", def, "seathq's API URL")
	tokenFile := fs.String("token-file", "", "file holding the API token (default $SEATHQ_TOKEN, or DIR/api-token)")
	caFile := fs.String("ca", "", "CA certificate the API's https certificate chains to")
	return func() (*hqClient, error) {
		token := os.Getenv("SEATHQ_TOKEN")
		path := *tokenFile
		if path == "" && token == "" {
			path = filepath.Join(*dir, service.APITokenFile)
		}
		if path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("API token: %w (give --token-file or $SEATHQ_TOKEN)", err)
			}
			token = strings.TrimSpace(string(b))
		}
		u, err := url.Parse(*base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --hq %q: want http(s)://host:port", errUsage, *base)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca %s: no certificate", *caFile)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		return &hqClient{base: strings.TrimRight(*base, "/"), token: token, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}, nil
	}
}

// call sends a request and decodes a JSON answer into out (unless nil);
// raw, when not nil, receives the body as it is.
// call sends a request, again after a pause while HQ answers 503 (its
// storage between cluster leaders: nothing was written), at most 6 times.
func (c *hqClient) call(ctx context.Context, method, path, ctype string, body []byte, out any) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		data, err := c.callOnce(ctx, method, path, ctype, body, out)
		if !errors.Is(err, errUnavailable) || attempt == 6 {
			return data, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

var errUnavailable = errors.New("HQ unavailable")

func (c *hqClient) callOnce(ctx context.Context, method, path, ctype string, body []byte, out any) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("seathq at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e httpapi.Error
		decoded := json.Unmarshal(data, &e) == nil
		if resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("seathq: %w: %s", errUnavailable, e.Error)
		}
		if decoded && e.Error != "" {
			return nil, fmt.Errorf("seathq: %s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("seathq: HTTP %s", resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("seathq: unexpected answer: %w", err)
		}
	}
	return data, nil
}

func (c *hqClient) postJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, "POST", path, "application/json", body, out)
	return err
}

// hqCommand parses the flags of an API command with its own flags.
type hqCommand struct {
	fs       *flag.FlagSet
	client   func() (*hqClient, error)
	centre   *string
	required bool
}

// Whether an API command takes --centre.
type centreFlag int

const (
	noCentre centreFlag = iota
	optionalCentre
	requiredCentre
)

func newHQCommand(name string, stderr io.Writer, centre centreFlag) *hqCommand {
	fs, dir := flags(name, stderr)
	h := &hqCommand{fs: fs, client: hqFlags(fs, dir), required: centre == requiredCentre}
	if centre != noCentre {
		h.centre = fs.String("centre", "", "centre id")
	}
	return h
}

func (h *hqCommand) parse(args []string, nargs int) (*hqClient, error) {
	if err := parse(h.fs, args, nargs); err != nil {
		return nil, err
	}
	if h.required && *h.centre == "" {
		return nil, fmt.Errorf("%w: %s needs --centre", errUsage, h.fs.Name())
	}
	return h.client()
}

func (h *hqCommand) centrePath(rest string) string {
	return "/api/v1/centres/" + url.PathEscape(*h.centre) + rest
}

func printRevision(stdout io.Writer, what string, rev httpapi.Revision) {
	fmt.Fprintf(stdout, "%s: centre now at revision %d (online gateways apply it within a second)\n", what, rev.Revision)
}

func cmdMembersImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("members import", stderr, requiredCentre)
	dry := h.fs.Bool("dry-run", false, "check the file, change nothing")
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(h.fs.Arg(0))
	if err != nil {
		return err
	}
	path := h.centrePath("/import")
	if *dry {
		path += "?dry_run=1"
	}
	var res httpapi.ImportResult
	if _, err := c.call(ctx, "POST", path, "text/csv", data, &res); err != nil {
		return err
	}
	verb := "imported"
	if res.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%s %d rows: %d members written, %d unchanged, %d cards added; centre at revision %d\n",
		verb, res.Rows, res.Members, res.Unchanged, res.Cards, res.Revision)
	return nil
}

func cmdMemberPut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("member put", stderr, requiredCentre)
	id := h.fs.String("id", "", "member id")
	name := h.fs.String("name", "", "display name")
	plan := h.fs.String("plan", "", "plan id")
	from := h.fs.String("from", "", "valid from (YYYY-MM-DD)")
	until := h.fs.String("until", "", "valid until (YYYY-MM-DD), included")
	seats := h.fs.String("seats", "any", "any, zones:A B, or seat:S")
	status := h.fs.String("status", "active", "active or suspended")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	rule := map[string]any{"kind": "any"}
	switch {
	case *seats == "any":
	case strings.HasPrefix(*seats, "zones:"):
		rule = map[string]any{"kind": "zones", "zones": strings.Fields(strings.TrimPrefix(*seats, "zones:"))}
	case strings.HasPrefix(*seats, "seat:"):
		rule = map[string]any{"kind": "fixed", "seat": strings.TrimPrefix(*seats, "seat:")}
	default:
		return fmt.Errorf("%w: --seats %q: want any, zones:A B or seat:S", errUsage, *seats)
	}
	member := map[string]any{"id": *id, "name": *name, "status": *status, "plan": *plan,
		"valid_from": *from, "valid_until": *until, "seats": rule}
	var rev httpapi.Revision
	if err := c.postJSON(ctx, h.centrePath("/changes"), map[string]any{"op": "member_put", "member": member}, &rev); err != nil {
		return err
	}
	printRevision(stdout, "member "+*id+" saved", rev)
	return nil
}

// cmdChangeByID sends an op that names a record by ID (suspend, resume,
// member_delete, card_revoke, plan_delete).
func cmdChangeByID(ctx context.Context, name, op string, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand(name, stderr, requiredCentre)
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	var rev httpapi.Revision
	if err := c.postJSON(ctx, h.centrePath("/changes"), map[string]any{"op": op, "id": h.fs.Arg(0)}, &rev); err != nil {
		return err
	}
	printRevision(stdout, name+" "+h.fs.Arg(0), rev)
	return nil
}

func cmdCardAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("card add", stderr, requiredCentre)
	member := h.fs.String("member", "", "member id")
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	var rev httpapi.Revision
	card := map[string]any{"uid": h.fs.Arg(0), "member": *member, "revoked": false}
	if err := c.postJSON(ctx, h.centrePath("/changes"), map[string]any{"op": "card_put", "card": card}, &rev); err != nil {
		return err
	}
	printRevision(stdout, "card "+h.fs.Arg(0)+" added to "+*member, rev)
	return nil
}

func cmdPlanPut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("plan put", stderr, requiredCentre)
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(h.fs.Arg(0))
	if err != nil {
		return err
	}
	var rev httpapi.Revision
	if err := c.postJSON(ctx, h.centrePath("/changes"), map[string]any{"op": "plan_put", "plan": json.RawMessage(data)}, &rev); err != nil {
		return err
	}
	printRevision(stdout, "plan saved", rev)
	return nil
}

func cmdMembershipGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("membership get", stderr, requiredCentre)
	out := h.fs.String("out", "", "file to write (and FILE.sig)")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: membership get needs --out", errUsage)
	}
	data, err := c.call(ctx, "GET", h.centrePath("/membership"), "", nil, nil)
	if err != nil {
		return err
	}
	sig, err := c.call(ctx, "GET", h.centrePath("/membership?sig=1"), "", nil, nil)
	if err != nil {
		return err
	}
	var keys httpapi.Keys
	if _, err := c.call(ctx, "GET", "/api/v1/keys", "", nil, &keys); err != nil {
		return err
	}
	pub, err := base64.StdEncoding.DecodeString(keys.HQKey)
	if err != nil {
		return err
	}
	// The membership may have changed between the two requests: then the
	// signature does not match, and asking again fixes it.
	if err := journal.VerifySnapshotFile(pub, data, sig); err != nil {
		return fmt.Errorf("the signature does not match the membership (it changed meanwhile? run again): %w", err)
	}
	m, err := store.ParseMembershipBytes(data)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(*out, data, 0o644); err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(*out+journal.SigSuffix, sig, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s%s: centre %s, revision %d, %d members, %d cards\n",
		*out, *out, journal.SigSuffix, m.Centre, m.Revision, len(m.Members), len(m.Cards))
	return nil
}

func cmdOccupancy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("occupancy", stderr, optionalCentre)
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	centre := h.centre
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	if *centre != "" {
		var o fleet.CentreOccupancy
		if _, err := c.call(ctx, "GET", "/api/v1/centres/"+url.PathEscape(*centre)+"/occupancy", "", nil, &o); err != nil {
			return err
		}
		fmt.Fprintf(tw, "centre %s: %d of %d seats occupied (gateways online %d of %d)\n", o.Centre, o.Occupied, o.Seats, o.GatewaysOnline, o.Gateways)
		fmt.Fprintln(tw, "SEAT\tZONE\tSTATE\tMEMBER\tSINCE")
		for _, s := range o.SeatList {
			since := ""
			if !s.Since.IsZero() {
				since = s.Since.Local().Format("15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Seat, s.Zone, s.State, s.Member, since)
		}
		return nil
	}
	var n httpapi.National
	if _, err := c.call(ctx, "GET", "/api/v1/occupancy", "", nil, &n); err != nil {
		return err
	}
	fmt.Fprintf(tw, "national: %d of %d seats occupied; centres online %d of %d; gateways online %d of %d\n",
		n.Occupied, n.Seats, n.CentresOnline, n.Centres, n.GatewaysOnline, n.Gateways)
	fmt.Fprintln(tw, "CENTRE\tOCCUPIED\tSEATS\tGATEWAYS ONLINE")
	for _, o := range n.ByCentre {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\n", o.Centre, o.Occupied, o.Seats, o.GatewaysOnline, o.Gateways)
	}
	return nil
}

func cmdLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("ledger", stderr, requiredCentre)
	from := h.fs.String("from", "", "first day (YYYY-MM-DD)")
	to := h.fs.String("to", "", "last day (YYYY-MM-DD), included")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	var days []ledger.Day
	q := url.Values{"from": {*from}, "to": {*to}}
	if _, err := c.call(ctx, "GET", h.centrePath("/ledger?"+q.Encode()), "", nil, &days); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "DATE\tSEAT-HOURS\tSESSIONS\tVERIFIED\tWHY NOT")
	var total float64
	for _, d := range days {
		why := []string{}
		if d.Untrusted > 0 {
			why = append(why, fmt.Sprintf("%d clock-untrusted", d.Untrusted))
		}
		if d.Invalid > 0 {
			why = append(why, fmt.Sprintf("%d invalid", d.Invalid))
		}
		if len(d.Suspect) > 0 {
			why = append(why, "suspect gateway "+strings.Join(d.Suspect, ","))
		}
		verified := "yes"
		if !d.Verified {
			verified = "NO"
		}
		total += d.Hours()
		fmt.Fprintf(tw, "%s\t%.2f\t%d\t%s\t%s\n", d.Date, d.Hours(), d.Sessions, verified, strings.Join(why, "; "))
	}
	fmt.Fprintf(tw, "total\t%.2f\t\t\t\n", total)
	return nil
}

func cmdGateways(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("gateways", stderr, optionalCentre)
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	centre := h.centre
	path := "/api/v1/gateways"
	if *centre != "" {
		path += "?centre=" + url.QueryEscape(*centre)
	}
	var gws []httpapi.Gateway
	if _, err := c.call(ctx, "GET", path, "", nil, &gws); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "CENTRE\tGATEWAY\tSTATE\tLAST SEEN\tBOOT\tFIRMWARE\tOUTBOX\tOLDEST\tEVENTS AT HQ\tANOMALIES\tKEY")
	for _, g := range gws {
		seen, boot, fw, depth, oldest, events, anomalies := "never", "-", "-", "-", "-", "0", "-"
		if !g.Live.LastSeen.IsZero() {
			seen = time.Since(g.Live.LastSeen).Truncate(time.Second).String() + " ago"
		}
		if p := g.Live.Presence; p != nil {
			boot, fw = fmt.Sprint(p.Boot), p.Firmware
		}
		if h := g.Live.Health; h != nil {
			depth, oldest, fw = fmt.Sprint(h.OutboxDepth), (time.Duration(h.OutboxOldest) * time.Second).String(), h.Firmware
		}
		if ch := g.Chain; ch != nil {
			events = fmt.Sprint(ch.Seq)
			var parts []string
			for k, n := range ch.AnomalyCounts {
				parts = append(parts, fmt.Sprintf("%s:%d", k, n))
			}
			if len(parts) > 0 {
				anomalies = strings.Join(parts, ",")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Centre, g.Gateway.Gateway, g.Live.State, seen, boot, fw, depth, oldest, events, anomalies, g.KeyID)
	}
	return nil
}

func cmdGatewayEnrol(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("gateway enrol", stderr, requiredCentre)
	gw := h.fs.String("gateway", "", "gateway id")
	key := h.fs.String("device-key", "", "the gateway's device public key (base64, as 'seatgate key show' prints it)")
	note := h.fs.String("note", "", "free text: address, installer")
	replace := h.fs.Bool("replace", false, "replace the device key of an enrolled gateway (its storage was replaced)")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	var g httpapi.Gateway
	if err := c.postJSON(ctx, "/api/v1/gateways", httpapi.Enrolment{Centre: *h.centre, Gateway: *gw, DeviceKey: *key, Note: *note, Replace: *replace}, &g); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled %s/%s with device key %s\n", g.Centre, g.Gateway.Gateway, g.KeyID)
	return nil
}

func cmdGatewayRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("gateway remove", stderr, requiredCentre)
	gw := h.fs.String("gateway", "", "gateway id")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	if _, err := c.call(ctx, "DELETE", "/api/v1/gateways/"+url.PathEscape(*h.centre)+"/"+url.PathEscape(*gw), "", nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "withdrew the enrolment of %s/%s: HQ refuses its evidence and connections from now on\n", *h.centre, *gw)
	return nil
}

func cmdGatewayCert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("gateway cert", stderr, requiredCentre)
	gw := h.fs.String("gateway", "", "gateway id")
	out := h.fs.String("out", "", "directory for gateway.pem and hq-ca.pem")
	pubFile := h.fs.String("public-key", "", "PEM public key to certify (default: the enrolled device key)")
	days := h.fs.Int("days", 0, "validity in days (default 730)")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: gateway cert needs --out", errUsage)
	}
	req := httpapi.CertificateRequest{Days: *days}
	if *pubFile != "" {
		b, err := os.ReadFile(*pubFile)
		if err != nil {
			return err
		}
		req.PublicKeyPEM = string(b)
	}
	var cert httpapi.Certificate
	if err := c.postJSON(ctx, "/api/v1/gateways/"+url.PathEscape(*h.centre)+"/"+url.PathEscape(*gw)+"/certificate", req, &cert); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for name, data := range map[string]string{"gateway.pem": cert.CertPEM, "hq-ca.pem": cert.CAPEM} {
		if err := pki.WriteFileAtomic(filepath.Join(*out, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s/gateway.pem and %s/hq-ca.pem\n", *out, *out)
	return nil
}

func cmdHQKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newHQCommand("hq keys", stderr, noCentre).parse(args, 0)
	if err != nil {
		return err
	}
	var k httpapi.Keys
	if _, err := c.call(ctx, "GET", "/api/v1/keys", "", nil, &k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hq_key: %s\nkey id: %s\n%s", k.HQKey, k.KeyID, k.CAPEM)
	return nil
}

// hqCommands dispatches the API commands; ok is false for another command.
func hqCommands(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) (ok bool, err error) {
	f, ok := hqTable[cmd]
	if !ok {
		return false, nil
	}
	return true, f(ctx, args, stdout, stderr)
}

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// byID is a change that names its record by ID.
func byID(name, op string) command {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdChangeByID(ctx, name, op, args, stdout, stderr)
	}
}

// text prints a text document of the API.
func text(name, path string) command {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdText(ctx, name, path, args, stdout, stderr)
	}
}

var hqTable = map[string]command{
	"members import":     cmdMembersImport,
	"member put":         cmdMemberPut,
	"member suspend":     byID("member suspend", "suspend"),
	"member resume":      byID("member resume", "resume"),
	"member delete":      byID("member delete", "member_delete"),
	"card add":           cmdCardAdd,
	"card revoke":        byID("card revoke", "card_revoke"),
	"plan put":           cmdPlanPut,
	"plan delete":        byID("plan delete", "plan_delete"),
	"membership get":     cmdMembershipGet,
	"occupancy":          cmdOccupancy,
	"ledger":             cmdLedger,
	"gateways":           cmdGateways,
	"gateway enrol":      cmdGatewayEnrol,
	"gateway remove":     cmdGatewayRemove,
	"gateway cert":       cmdGatewayCert,
	"hq keys":            cmdHQKeys,
	"mosquitto-acl":      text("mosquitto-acl", "/api/v1/mosquitto-acl"),
	"nats-authorization": text("nats-authorization", "/api/v1/nats-authorization"),
	"rollout start":      cmdRolloutStart,
	"rollout status":     cmdRolloutStatus,
	"rollout pause":      rolloutAction("pause"),
	"rollout resume":     rolloutAction("resume"),
	"rollout abort":      rolloutAction("abort"),
}

// cmdText prints a text document from the API.
func cmdText(ctx context.Context, name, path string, args []string, stdout, stderr io.Writer) error {
	c, err := newHQCommand(name, stderr, noCentre).parse(args, 0)
	if err != nil {
		return err
	}
	data, err := c.call(ctx, "GET", path, "", nil, nil)
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
