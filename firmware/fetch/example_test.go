package fetch_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/firmware/fetch"
	"github.com/pkfreelance/seatgate/firmware/release"
)

// A gateway downloads a release into its inactive slot from HQ, then
// serves it to the other gateways of its centre.
func ExampleDownload() {
	artifact := bytes.Repeat([]byte("seatgate 1.4.2\n"), 5000) // 75,000 bytes
	m, err := release.Build(bytes.NewReader(artifact), release.Manifest{
		Product: release.ProductBinary, Version: "1.4.2", Channel: "stable", Arch: "linux/arm64",
		ChunkSize: 16 << 10, Created: time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	hq := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(artifact))
	}))
	defer hq.Close()
	dir, _ := os.MkdirTemp("", "slots")
	defer os.RemoveAll(dir)
	slot, bitmap := filepath.Join(dir, "b", "seatgate"), filepath.Join(dir, "b", "seatgate.chunks")
	os.MkdirAll(filepath.Dir(slot), 0o755)

	st, err := fetch.Download(context.Background(), m, slot, bitmap, fetch.Options{
		Client:  hq.Client(),
		Sources: []fetch.Source{{Name: "hq", URL: hq.URL + "/artifacts/" + m.SHA256}},
		Progress: func(p fetch.Progress) {
			if p.Waiting == "" {
				fmt.Printf("chunk %d/%d from %s\n", p.Done, p.Total, p.Source)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("fetched %d bytes in %d chunks\n", st.Fetched, st.Chunks)

	// The LAN listener offers what the slot holds to peers.
	peers := http.NewServeMux()
	peers.Handle("/firmware/", fetch.NewServer(func(sha string) (release.Manifest, string, string, bool) {
		return m, slot, bitmap, sha == m.SHA256
	}))
	fmt.Println("peers fetch", fetch.ArtifactPath("{sha256}"))
	// Output:
	// chunk 1/5 from hq
	// chunk 2/5 from hq
	// chunk 3/5 from hq
	// chunk 4/5 from hq
	// chunk 5/5 from hq
	// fetched 75000 bytes in 5 chunks
	// peers fetch /firmware/v1/{sha256}/artifact
}
