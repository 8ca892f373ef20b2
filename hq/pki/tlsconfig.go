package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ServerTLSConfig returns the TLS configuration of a broker listener that
// presents certPEM/keyPEM and requires every client to present a
// certificate that verifies against clientCAs (the HQ CA pool). TLS 1.2 is
// the minimum.
func ServerTLSConfig(certPEM, keyPEM []byte, clientCAs *x509.CertPool) (*tls.Config, error) {
	if clientCAs == nil {
		return nil, errors.New("server TLS config: no client CA pool")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server TLS config: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
	}, nil
}

// ClientTLSConfig returns the TLS configuration of a client (a gateway, or
// an HQ service on Mosquitto) that presents certPEM/keyPEM and trusts only
// roots, checking that the server's certificate names serverName.
func ClientTLSConfig(certPEM, keyPEM []byte, roots *x509.CertPool, serverName string) (*tls.Config, error) {
	if roots == nil {
		return nil, errors.New("client TLS config: no root pool")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client TLS config: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		RootCAs:      roots,
		ServerName:   serverName,
	}, nil
}
