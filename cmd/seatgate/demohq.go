package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/hq/service"
	"github.com/pkfreelance/seatgate/sync/identity"
)

// startDemoHQ runs an HQ in this process (its data under the gateway's data
// directory), gives it the demo membership, enrols the gateway with its
// device key, has the HQ CA certify that key, and points cfg's hq: section
// at HQ's MQTT listener: the same steps as a real installation.
func startDemoHQ(ctx context.Context, cfg *config.Config, snapshot []byte, lg *slog.Logger) (*service.Service, error) {
	dir := filepath.Join(cfg.DataDir, "hq")
	hq, err := service.Start(ctx, service.Options{
		DataDir: filepath.Join(dir, "data"), SecretsDir: filepath.Join(dir, "secrets"),
		APIListen: "127.0.0.1:0", FirmwareListen: "127.0.0.1:0", Logger: lg.With("part", "hq"),
		Embedded: service.Embedded{ClientListen: "127.0.0.1:0", MQTTListen: "127.0.0.1:0", MQTTHosts: []string{"127.0.0.1", "localhost"}},
	})
	if err != nil {
		return nil, fmt.Errorf("demo HQ: %w", err)
	}
	fail := func(err error) (*service.Service, error) {
		hq.Close()
		return nil, fmt.Errorf("demo HQ: %w", err)
	}
	m, err := store.ParseMembershipBytes(snapshot)
	if err != nil {
		return fail(err)
	}
	if _, err := hq.Authority.ImportSnapshot(ctx, m); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fail(err)
	}
	key, err := identity.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return fail(err)
	}
	if _, err := hq.Registry.Enrol(ctx, registry.Gateway{Centre: cfg.Centre, Gateway: cfg.Gateway, DeviceKey: key.Public(), Note: "demo"}, false); err != nil {
		return fail(err)
	}
	certPEM, _, err := hq.CA.IssueGateway(cfg.Centre, cfg.Gateway, key.Public(), 30*24*time.Hour)
	if err != nil {
		return fail(err)
	}
	tlsDir := filepath.Join(cfg.DataDir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return fail(err)
	}
	cfg.HQ.CA, cfg.HQ.Cert, cfg.HQ.Key = filepath.Join(tlsDir, "hq-ca.pem"), filepath.Join(tlsDir, "gateway.pem"), config.DeviceKey
	if err := pki.WriteFileAtomic(cfg.HQ.CA, hq.CA.CertPEM(), 0o644); err != nil {
		return fail(err)
	}
	if err := pki.WriteFileAtomic(cfg.HQ.Cert, certPEM, 0o644); err != nil {
		return fail(err)
	}
	cfg.HQ.Broker = "tls://" + hq.MQTTAddr()
	cfg.HQ.HQKey = base64.StdEncoding.EncodeToString(hq.HQKey.Public())
	return hq, nil
}

// waitMembership waits until the gateway holds HQ's membership revision.
func waitMembership(ctx context.Context, g *daemon.Gateway, hq *service.Service, centre string) error {
	want, err := hq.Authority.Revision(ctx, centre)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if info, err := g.Store().MembershipInfo(); err == nil && info.Revision >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("demo: the gateway did not receive HQ's membership within 30 s (run with -v to see why)")
}
