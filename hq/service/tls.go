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
	certPEM, keyPEM, err := s.serverCert(MQTTCertFile, MQTTKeyFile, s.o.Embedded.MQTTHosts, "MQTT listener")
	if err != nil {
		return nil, err
	}
	return pki.ServerTLSConfig(certPEM, keyPEM, s.CA.CertPool())
}

// serverCert returns the certificate and key kept in the secrets directory
// under certName and keyName, issuing them from the CA for hosts (default:
// the host name, localhost and 127.0.0.1) when they are missing or have
// less than 30 days left.
func (s *Service) serverCert(certName, keyName string, hosts []string, what string) (certPEM, keyPEM []byte, err error) {
	certPath := filepath.Join(s.o.SecretsDir, certName)
	keyPath := filepath.Join(s.o.SecretsDir, keyName)
	cert, err := pki.ReadCertFile(certPath)
	if err != nil || time.Until(cert.NotAfter) < 30*24*time.Hour {
		if len(hosts) == 0 {
			name, _ := os.Hostname()
			hosts = []string{"localhost", "127.0.0.1"}
			if name != "" {
				hosts = append([]string{name}, hosts...)
			}
		}
		certPEM, keyPEM, err := s.CA.IssueServer(hosts, 825*24*time.Hour)
		if err != nil {
			return nil, nil, fmt.Errorf("seathq: %s certificate: %w", what, err)
		}
		if err := pki.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, nil, err
		}
		if err := pki.WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, nil, err
		}
		s.lg.Info("issued a certificate", "for", what, "hosts", hosts, "path", certPath)
	}
	if certPEM, err = os.ReadFile(certPath); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = os.ReadFile(keyPath); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
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
