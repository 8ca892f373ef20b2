package service

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
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
