package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/httpapi"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/service"
	"github.com/pkfreelance/seatgate/sync/journal"
)

// nats-server's access-time ticker and a file store's flush loop may
// outlive Shutdown by a moment; they are its own and end on their own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"))
}

func startHQ(t *testing.T) *service.Service {
	t.Helper()
	dir := t.TempDir()
	s, err := service.Start(context.Background(), service.Options{
		DataDir: dir + "/data", SecretsDir: dir + "/secrets", APIListen: "127.0.0.1:0", FirmwareListen: "127.0.0.1:0",
		Embedded: service.Embedded{ClientListen: "127.0.0.1:0", MQTTListen: "127.0.0.1:0"},
		Logger:   ingesttest.TestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, ctype string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (c client) json(method, path string, in, out any, want int) {
	c.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	status, got := c.do(method, path, "application/json", body)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

func TestAPINeedsTheToken(t *testing.T) {
	s := startHQ(t)
	for _, token := range []string{"", "wrong-token-wrong-token", s.Token + "x"} {
		c := client{t, s.APIURL(), token}
		for _, p := range []string{"/api/v1/keys", "/api/v1/gateways", "/api/v1/centres/lhr-01/membership", "/api/v1/occupancy",
			"/metrics", "/api/v1/rollouts", "/api/v1/firmware/releases"} {
			if status, _ := c.do("GET", p, "", nil); status != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", p, token, status)
			}
		}
	}
	if status, _ := (client{t, s.APIURL(), ""}).do("GET", "/healthz", "", nil); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
	// With the token, Prometheus gets seathq's metrics, requests counted by route.
	c := client{t, s.APIURL(), s.Token}
	c.do("GET", "/api/v1/gateways", "", nil)
	status, body := c.do("GET", "/metrics", "", nil)
	for _, want := range []string{"seathq_build_info", `seathq_api_requests_total{code="200",route="GET /api/v1/gateways"}`} {
		if status != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics: %d, lacks %s", status, want)
		}
	}
}

func TestMembershipChangesAndCSVImport(t *testing.T) {
	s := startHQ(t)
	c := client{t, s.APIURL(), s.Token}
	var rev httpapi.Revision
	c.json("POST", "/api/v1/centres/lhr-01/changes", map[string]any{"op": "plan_put",
		"plan": map[string]any{"id": "monthly", "name": "Monthly", "grace_days": 3, "price_pkr": 3500}}, &rev, 200)
	if rev.Revision != 1 {
		t.Fatalf("revision after the first change: %d", rev.Revision)
	}
	// Bad changes: refused with a reason, nothing written.
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"op":"member_put","member":{"id":"m-1","name":"A","status":"active","plan":"nope","valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"any"}}}`, 404},
		{`{"op":"member_put","member":{"id":"m-1","extra":1}}`, 400},
		{`{"op":"teleport"}`, 400},
		{`{"op":"plan_delete","id":"ghost"}`, 404},
		{`not json`, 400},
		{`{"op":"card_revoke","id":"04A1B2C3"} {"op":"card_revoke"}`, 400},
	} {
		status, body := c.do("POST", "/api/v1/centres/lhr-01/changes", "application/json", []byte(bad.body))
		if status != bad.status || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want %d", bad.body, status, body, bad.status)
		}
	}
	if status, _ := c.do("POST", "/api/v1/centres/LHR/changes", "application/json", []byte(`{}`)); status != 400 {
		t.Errorf("bad centre: %d", status)
	}

	// A CSV with one bad row imports nothing and names the line.
	bad := "member_id,name,plan,valid_from,valid_until,cards\n" +
		"m-1,Ayesha Khan,monthly,2026-11-01,2026-11-30,04a1b2c3\n" +
		"m-2,Bilal,monthly,2026-11-01,2026-13-30,04C3D4E5F60780\n" +
		"m-3,Sana,monthly,2026-11-01,2026-11-30,04A1B2C3\n"
	status, body := c.do("POST", "/api/v1/centres/lhr-01/import", "text/csv", []byte(bad))
	if status != 400 || !strings.Contains(string(body), "line 3: valid_until") || !strings.Contains(string(body), "line 4: card 04A1B2C3 is also on line 2") {
		t.Fatalf("bad CSV: %d %s", status, body)
	}
	snap := snapshot(t, c, s)
	if snap.Revision != 1 || len(snap.Members) != 0 {
		t.Fatalf("a refused import changed the membership: rev %d, %d members", snap.Revision, len(snap.Members))
	}

	good := "\ufeffmember_id,name,plan,valid_from,valid_until,status,seats,cards\n" +
		"m-1,Ayesha Khan,monthly,2026-11-01,2026-11-30,active,any,04a1b2c3\n" +
		"m-2,\"Bilal, Jr\",monthly,2026-11-01,2026-11-30,suspended,zones:a b,04C3D4E5F60780 04112233\n" +
		"m-3,Sana,monthly,2026-11-01,2026-11-30,,seat:A-01,\n"
	var res httpapi.ImportResult
	status, body = c.do("POST", "/api/v1/centres/lhr-01/import?dry_run=1", "text/csv", []byte(good))
	if json.Unmarshal(body, &res); status != 200 || !res.DryRun || res.Members != 3 || res.Cards != 3 || res.Revision != 1 {
		t.Fatalf("dry run: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/v1/centres/lhr-01/import", "text/csv", []byte(good))
	if json.Unmarshal(body, &res); status != 200 || res.Members != 3 || res.Cards != 3 || res.Revision != 7 {
		t.Fatalf("import: %d %s", status, body)
	}
	// The same file again writes nothing.
	status, body = c.do("POST", "/api/v1/centres/lhr-01/import", "text/csv", []byte(good))
	if json.Unmarshal(body, &res); status != 200 || res.Members != 0 || res.Cards != 0 || res.Unchanged != 3 || res.Revision != 7 {
		t.Fatalf("import again: %d %s", status, body)
	}
	snap = snapshot(t, c, s)
	if snap.Revision != 7 || len(snap.Members) != 3 || len(snap.Cards) != 3 || snap.Members[1].Name != "Bilal, Jr" {
		t.Fatalf("after import: %+v", snap)
	}
	c.json("POST", "/api/v1/centres/lhr-01/changes", map[string]any{"op": "card_revoke", "id": "04112233"}, &rev, 200)
	c.json("POST", "/api/v1/centres/lhr-01/changes", map[string]any{"op": "suspend", "id": "m-1"}, &rev, 200)
	if rev.Revision != 9 {
		t.Fatalf("revision %d, want 9", rev.Revision)
	}
	// A card of another member is a conflict.
	status, body = c.do("POST", "/api/v1/centres/lhr-01/import", "text/csv", []byte("member_id,name,plan,valid_from,valid_until,cards\nm-3,Sana,monthly,2026-11-01,2026-11-30,04A1B2C3\n"))
	if status != 400 || !strings.Contains(string(body), `belongs to member \"m-1\"`) {
		t.Fatalf("stolen card: %d %s", status, body)
	}
}

// snapshot fetches the membership and checks its detached signature.
func snapshot(t *testing.T, c client, s *service.Service) store.Membership {
	t.Helper()
	status, data := c.do("GET", "/api/v1/centres/lhr-01/membership", "", nil)
	if status != 200 {
		t.Fatalf("membership: %d %s", status, data)
	}
	_, sig := c.do("GET", "/api/v1/centres/lhr-01/membership?sig=1", "", nil)
	if err := journal.VerifySnapshotFile(s.HQKey.Public(), data, sig); err != nil {
		t.Fatalf("snapshot signature: %v", err)
	}
	m, err := store.ParseMembershipBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnrolAndCertificate(t *testing.T) {
	s := startHQ(t)
	c := client{t, s.APIURL(), s.Token}
	pub, _, _ := ed25519.GenerateKey(nil)
	enrol := httpapi.Enrolment{Centre: "lhr-01", Gateway: "gw-1", DeviceKey: base64.StdEncoding.EncodeToString(pub)}
	c.json("POST", "/api/v1/gateways", enrol, nil, 200)
	other, _, _ := ed25519.GenerateKey(nil)
	enrol.DeviceKey = base64.StdEncoding.EncodeToString(other)
	c.json("POST", "/api/v1/gateways", enrol, nil, 409)
	c.json("POST", "/api/v1/gateways", httpapi.Enrolment{Centre: "lhr-01", Gateway: "gw.2", DeviceKey: enrol.DeviceKey}, nil, 400)
	c.json("POST", "/api/v1/gateways", map[string]any{"centre": "lhr-01", "gateway": "gw-2", "device_key": "%%%"}, nil, 400)

	var cert httpapi.Certificate
	c.json("POST", "/api/v1/gateways/lhr-01/gw-1/certificate", httpapi.CertificateRequest{}, &cert, 200)
	x, err := pki.ParseCertPEM([]byte(cert.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	if x.Subject.CommonName != "lhr-01.gw-1" || !pub.Equal(x.PublicKey) {
		t.Fatalf("certificate: CN %q, key %T", x.Subject.CommonName, x.PublicKey)
	}
	if _, err := x.Verify(certOpts(s)); err != nil {
		t.Fatalf("certificate does not chain to the CA: %v", err)
	}
	c.json("POST", "/api/v1/gateways/lhr-01/gw-9/certificate", httpapi.CertificateRequest{}, nil, 404)

	var gws []httpapi.Gateway
	c.json("GET", "/api/v1/gateways?centre=lhr-01", nil, &gws, 200)
	if len(gws) != 1 || gws[0].Gateway.Gateway != "gw-1" || gws[0].Live.State != "unknown" {
		t.Fatalf("gateways: %+v", gws)
	}
	status, auth := c.do("GET", "/api/v1/nats-authorization", "", nil)
	if status != 200 || !strings.Contains(string(auth), "CN=lhr-01.gw-1") {
		t.Fatalf("nats authorization: %d %s", status, auth)
	}
	c.json("DELETE", "/api/v1/gateways/lhr-01/gw-1", nil, nil, 204)
	c.json("DELETE", "/api/v1/gateways/lhr-01/gw-1", nil, nil, 404)
	c.json("GET", "/api/v1/centres/lhr-01/ledger?from=2026-11-02&to=2026-11-01", nil, nil, 400)
	var days []map[string]any
	c.json("GET", "/api/v1/centres/lhr-01/ledger?from=2026-11-01&to=2026-11-03", nil, &days, 200)
	if len(days) != 3 {
		t.Fatalf("ledger days: %d", len(days))
	}
}

func certOpts(s *service.Service) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: s.CA.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}
