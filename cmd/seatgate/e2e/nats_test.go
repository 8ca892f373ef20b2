package e2e_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// TestGatewayOverNATSWithTLS: the seatgate binary speaks MQTT over TLS
// with its own client certificate to HQ's NATS (embedded, JetStream on);
// an HQ process on the NATS side receives its signed batches on
// seats.v1.{c}.{g}.events and acknowledges them.
func TestGatewayOverNATSWithTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srvTLS, err := pki.ServerTLSConfig(srvCert, srvKey, ca.CertPool())
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(broker.Options{DataDir: filepath.Join(dir, "nats"), TLS: srvTLS, HQUser: "seathq", HQPassword: "e2e-only",
		Gateways: []broker.GatewayIdentity{{Centre: topics.Centre, Gateway: topics.Gateway}}, HTTPMonitorPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(); b.WaitForShutdown() })

	gwCert, gwKey, err := ca.IssueGateway(topics.Centre, topics.Gateway, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hqPub, hqKey, _ := ed25519.GenerateKey(nil)
	g := newGW(t)
	files := map[string][]byte{"gateway.pem": gwCert, "gateway-key.pem": gwKey, "hq-ca.pem": ca.CertPEM()}
	for name, data := range files {
		os.WriteFile(filepath.Join(g.dir, name), data, 0o600)
	}
	cfg, _ := os.ReadFile(g.cfgPath)
	_, port, _ := net.SplitHostPort(b.MQTTAddr())
	cfg = append(cfg, []byte(fmt.Sprintf("hq:\n  broker: tls://127.0.0.1:%s\n  ca: %s\n  cert: %s\n  key: %s\n  hq_key: %s\n",
		port, filepath.Join(g.dir, "hq-ca.pem"), filepath.Join(g.dir, "gateway.pem"),
		filepath.Join(g.dir, "gateway-key.pem"), base64.StdEncoding.EncodeToString(hqPub)))...)
	os.WriteFile(g.cfgPath, cfg, 0o600)

	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo("seathq", "e2e-only"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hq := &fakeHQ{t: t, key: hqKey, chain: store.GenesisHash, devKey: func() ed25519.PublicKey {
		k, err := identity.LoadOrCreate(filepath.Join(g.dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}}
	events, _ := wire.NATSSubject(topics.Events())
	ack, _ := wire.NATSSubject(topics.Ack())
	if _, err := nc.Subscribe(events, func(m *nats.Msg) {
		if p := hq.batch(m.Data); p != nil {
			nc.Publish(ack, p)
		}
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	g.start()
	for i := range 12 {
		g.tap(fmt.Sprintf("desk-%d", 1+i%6), fmt.Sprintf("FFEE%04X", i))
	}
	var h struct {
		Outbox struct{ Delivered, Depth uint64 } `json:"outbox"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		g.call("GET", "/healthz", nil, &h)
		if h.Outbox.Delivered == 12 && h.Outbox.Depth == 0 && hq.stored() == 12 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.Outbox.Delivered != 12 || hq.stored() != 12 {
		t.Fatalf("over NATS: delivered %d, HQ stored %d, want 12 and 12\n%s", h.Outbox.Delivered, hq.stored(), g.logs.String())
	}
	g.stop()
}
