package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/relay"
)

// mqttTLS is the MQTT listener's TLS: the certificate in the secrets
// directory, issued from the CA at the first start for Embedded.MQTTHosts
// (and re-issued when it has less than 30 days left), with the CA as the
// only client CA.
func (s *Service) mqttTLS() (*tls.Config, error) {
	certPath := filepath.Join(s.o.SecretsDir, MQTTCertFile)
	keyPath := filepath.Join(s.o.SecretsDir, MQTTKeyFile)
	cert, err := pki.ReadCertFile(certPath)
	if err != nil || time.Until(cert.NotAfter) < 30*24*time.Hour {
		hosts := s.o.Embedded.MQTTHosts
		if len(hosts) == 0 {
			name, _ := os.Hostname()
			hosts = []string{"localhost", "127.0.0.1"}
			if name != "" {
				hosts = append([]string{name}, hosts...)
			}
		}
		certPEM, keyPEM, err := s.CA.IssueServer(hosts, 825*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("seathq: MQTT certificate: %w", err)
		}
		if err := pki.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := pki.WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		s.lg.Info("issued the MQTT listener's certificate", "hosts", hosts, "path", certPath)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	return pki.ServerTLSConfig(certPEM, keyPEM, s.CA.CertPool())
}

// startRelay serves the gateways of a Mosquitto broker: HQ connects to it
// as the service "seathq" with a client certificate it issues itself from
// its CA at every start (the key never leaves memory).
func (s *Service) startRelay(ctx context.Context) error {
	u, err := url.Parse(s.o.Mosquitto)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("seathq: mosquitto broker %q: want tls://host:port", s.o.Mosquitto)
	}
	var tlsConf *tls.Config
	if u.Scheme == "tls" || u.Scheme == "ssl" || u.Scheme == "mqtts" {
		certPEM, keyPEM, err := s.CA.IssueService(s.o.NATSUser, nil, 30*24*time.Hour)
		if err != nil {
			return fmt.Errorf("seathq: relay certificate: %w", err)
		}
		roots := s.CA.CertPool()
		if s.o.MosquittoCA != "" {
			pem, err := os.ReadFile(s.o.MosquittoCA)
			if err != nil {
				return fmt.Errorf("seathq: mosquitto CA: %w", err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return fmt.Errorf("seathq: mosquitto CA %s: no certificate", s.o.MosquittoCA)
			}
		}
		if tlsConf, err = pki.ClientTLSConfig(certPEM, keyPEM, roots, u.Hostname()); err != nil {
			return err
		}
	}
	s.Relay, err = relay.Start(ctx, s.NC, relay.Options{Broker: s.o.Mosquitto, TLS: tlsConf, Logger: s.lg})
	return err
}
