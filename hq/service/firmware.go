package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	hqfirmware "github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/fleet"
	hqmetrics "github.com/pkfreelance/seatgate/hq/metrics"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Secrets-directory files of the firmware download server.
const (
	FirmwareCertFile = "firmware-server.pem"
	FirmwareKeyFile  = "firmware-server.key"
)

// openFirmware opens the release store and the rollouts, both at once:
// on a new cluster every stream waits for its own leader election, so
// Start runs this alongside the other buckets' set-up.
func (s *Service) openFirmware(setupCtx context.Context) error {
	var fwErr, roErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		fwErr = retry(setupCtx, func(actx context.Context) (err error) {
			s.Firmware, err = hqfirmware.NewStore(actx, s.JS, s.o.Replicas, hqfirmware.WithLogger(s.lg))
			return err
		})
	})
	wg.Go(func() {
		roErr = retry(setupCtx, func(actx context.Context) (err error) {
			s.Rollouts, err = rollout.NewStore(actx, s.JS, s.o.Replicas)
			return err
		})
	})
	wg.Wait()
	if fwErr != nil {
		return fmt.Errorf("seathq: firmware store: %w", fwErr)
	}
	if roErr != nil {
		return fmt.Errorf("seathq: rollouts: %w", roErr)
	}
	return nil
}

// startFirmware serves the artifacts over HTTPS and runs the rollout
// controller (after openFirmware).
func (s *Service) startFirmware(ctx context.Context) error {
	hosts := s.o.FirmwareHosts
	if len(hosts) == 0 {
		hosts = s.o.Embedded.MQTTHosts
	}
	certPEM, keyPEM, err := s.serverCert(FirmwareCertFile, FirmwareKeyFile, hosts, "firmware download server")
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("seathq: firmware download server: %w", err)
	}
	ln, err := net.Listen("tcp", s.o.FirmwareListen)
	if err != nil {
		return fmt.Errorf("seathq: firmware download server: %w", err)
	}
	s.firmwareAddr = ln.Addr().String()
	if s.firmwareURL = s.o.FirmwareURL; s.firmwareURL == "" {
		host := "localhost"
		if len(hosts) > 0 {
			host = hosts[0]
		}
		_, port, _ := net.SplitHostPort(s.firmwareAddr)
		s.firmwareURL = "https://" + net.JoinHostPort(host, port)
	}
	s.firmwareSrv = &http.Server{Handler: s.Firmware.Handler(), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}}
	s.wg.Go(func() {
		if err := s.firmwareSrv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.lg.Error("seathq: firmware download server stopped", "err", err)
		}
	})
	s.lg.Info("firmware downloads listening", "addr", s.firmwareAddr, "url", s.firmwareURL)
	every := s.o.RolloutEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	s.run(ctx, "rollouts", func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case now := <-t.C:
				if err := s.Rollouts.Tick(ctx, now, s.fleetViews, s.assign(ctx)); err != nil && ctx.Err() == nil {
					s.lg.Warn("rollouts: tick", "err", err)
				}
			}
		}
	})
	return nil
}

// FirmwareURL is the base URL gateways download artifacts from.
func (s *Service) FirmwareURL() string { return s.firmwareURL }

// fleetViews is what the rollout controller knows of each gateway.
func (s *Service) fleetViews() []rollout.GatewayView {
	gws := s.Fleet.Gateways("")
	out := make([]rollout.GatewayView, 0, len(gws))
	for _, g := range gws {
		v := rollout.GatewayView{Ref: rollout.GatewayRef{Centre: g.Centre, Gateway: g.Gateway},
			Online: g.State == fleet.StateOnline}
		if p := g.Presence; p != nil {
			v.Version, v.Channel, v.Arch = p.Firmware, p.Channel, p.Arch
		}
		if f := g.Firmware; f != nil {
			v.Rollout, v.Phase, v.Detail, v.LastReport = f.Rollout, f.Phase, f.Detail, f.At
		}
		// A health report carries the update's state too (lossy, but it
		// shows progress between the logged steps).
		if h := g.Health; h != nil && h.Update != nil && (g.Firmware == nil || h.Update.Rollout == v.Rollout && h.Time.After(v.LastReport)) {
			if h.Update.Phase != v.Phase || h.Update.Done > 0 {
				v.Rollout, v.Phase, v.Detail = h.Update.Rollout, h.Update.Phase, h.Update.Detail
				v.LastReport = h.Time
			}
		}
		out = append(out, v)
	}
	return out
}

// assign returns the function the rollout controller calls to send a
// gateway its assignment: HQ-signed, on the gateway's firmware topic.
func (s *Service) assign(ctx context.Context) func(rollout.Status, rollout.GatewayRef) error {
	return func(st rollout.Status, ref rollout.GatewayRef) error {
		rel, err := s.Firmware.BySHA256(ctx, st.Spec.Manifest)
		if err != nil {
			return fmt.Errorf("release %s: %w", st.Spec.Version, err)
		}
		roots, err := s.Firmware.Roots(ctx)
		if err != nil {
			return err
		}
		if len(roots) > 0 {
			roots = roots[1:] // every gateway ships with version 1
		}
		m := wire.FirmwareAssign{V: wire.Version, Centre: ref.Centre, Gateway: ref.Gateway, Rollout: st.Spec.ID,
			Manifest: rel.Signed, Roots: roots, Issued: time.Now().UTC(),
			URLs: []string{s.firmwareURL + "/firmware/v1/" + rel.Manifest.SHA256 + "/artifact"}}
		if w := st.Spec.Window; w.Start != "" {
			m.Window = w.Start + "-" + w.End
		}
		if err := wire.Sign(s.HQKey.Private, &m); err != nil {
			return err
		}
		b, err := wire.Encode(&m)
		if err != nil {
			return err
		}
		t := wire.Topics{Centre: ref.Centre, Gateway: ref.Gateway}
		subj, err := wire.NATSSubject(t.Firmware())
		if err != nil {
			return err
		}
		s.lg.Info("rollouts: assigned", "rollout", st.Spec.ID, "gateway", ref.String(), "version", st.Spec.Version,
			"bytes", strconv.Itoa(len(b)))
		return s.NC.Publish(subj, b)
	}
}

// firmwareEvents passes the firmware steps of a stored batch to the fleet
// tracker (ingest's OnStored).
func (s *Service) firmwareEvents(ctx context.Context, centre, gateway string, events []store.Event) {
	var reps []store.FirmwareReport
	for _, e := range events {
		if e.Kind == store.KindFirmware && e.Firmware != nil {
			reps = append(reps, *e.Firmware)
		}
	}
	if len(reps) == 0 || s.Fleet == nil {
		return
	}
	if err := s.Fleet.RecordFirmware(ctx, centre, gateway, reps); err != nil {
		s.lg.Warn("fleet: firmware report not recorded", "gateway", centre+"/"+gateway, "err", err)
	}
}

// newMetrics builds seathq's Prometheus metrics (GET /metrics on the API).
func (s *Service) newMetrics() *hqmetrics.HQ {
	src := hqmetrics.Sources{Version: s.o.Version, Ingest: s.Ingester.Stats, Fleet: s.Fleet.Stats, Gateways: s.Fleet.Gateways,
		Logger: s.lg.With("component", "metrics")}
	if s.Rollouts != nil {
		src.Rollouts = s.Rollouts.List
	}
	return hqmetrics.New(src)
}
