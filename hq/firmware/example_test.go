package firmware_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// HQ takes the root metadata and a release signed offline, then a gateway
// downloads the artifact's second chunk with a Range request.
func Example() {
	dir, err := os.MkdirTemp("", "seathq-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := startBroker(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer b.WaitForShutdown()
	defer b.Shutdown()
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo("seathq", "change-me"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	store, err := firmware.NewStore(ctx, js, 1)
	if err != nil {
		log.Fatal(err)
	}

	// The release manager's documents (seatctl release keys, release sign).
	rootPub, rootKey, _ := release.GenerateKey()
	relPub, relKey, _ := release.GenerateKey()
	rootJSON, err := release.SignRoot(release.Root{Version: 1, Expires: time.Now().AddDate(1, 0, 0),
		RootKeys: []release.Key{release.NewKey(rootPub, time.Time{})}, RootThreshold: 1,
		ReleaseKeys: []release.Key{release.NewKey(relPub, time.Now().AddDate(0, 3, 0))}}, rootKey)
	if err != nil {
		log.Fatal(err)
	}
	binary := bytes.Repeat([]byte("seatgate binary "), 40000) // 640000 bytes
	m, err := release.Build(bytes.NewReader(binary), release.Manifest{Product: release.ProductBinary,
		Version: "1.4.2", Channel: "stable", Arch: "linux/arm64", Created: time.Now()})
	if err != nil {
		log.Fatal(err)
	}
	signed, err := release.SignManifest(m, relKey)
	if err != nil {
		log.Fatal(err)
	}

	// seatctl release publish: the roots, then the release.
	if _, err := store.PutRoot(ctx, rootJSON); err != nil {
		log.Fatal(err)
	}
	rel, err := store.Publish(ctx, signed, bytes.NewReader(binary))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("published %s: %d bytes in %d chunks\n", rel.Manifest.Version, rel.Manifest.Size, len(rel.Manifest.Chunks))

	// A gateway fetches chunk 1 from HQ's firmware server.
	srv := httptest.NewServer(store.Handler())
	defer srv.Close()
	off, n := m.ChunkRange(1)
	req, _ := http.NewRequest("GET", srv.URL+firmware.ArtifactPath(m.SHA256), nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	chunk, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Range"), "verified:", m.VerifyChunk(1, chunk) == nil)
	// Output:
	// published 1.4.2: 640000 bytes in 3 chunks
	// 206 Partial Content bytes 262144-524287/640000 verified: true
}

func startBroker(dir string) (*broker.Broker, error) {
	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		return nil, err
	}
	tlsConf, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		return nil, err
	}
	return broker.Start(broker.Options{
		DataDir: filepath.Join(dir, "nats"), MQTTHost: "127.0.0.1", TLS: tlsConf,
		HQUser: "seathq", HQPassword: "change-me",
	})
}
