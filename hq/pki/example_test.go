package pki_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
)

func ExampleCA_IssueGateway() {
	dir, err := os.MkdirTemp("", "hq-ca-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ca, err := pki.NewCA(filepath.Join(dir, "ca")) // creates ca.pem and ca-key.pem
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueGateway("lhr-01", "gw-1", nil, 365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	// The gateway gets its certificate, its key (0600) and ca.pem to pin.
	if err := pki.WriteFileAtomic(filepath.Join(dir, "gw-key.pem"), keyPEM, 0o600); err != nil {
		log.Fatal(err)
	}
	cert, _ := pki.ParseCertPEM(certPEM)
	fmt.Println(cert.Subject.CommonName)
	// Output: lhr-01.gw-1
}
