package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// childEnv, when set, makes the test binary a download child: it reads a
// childConfig from the variable, downloads, and exits (crash tests kill
// it first).
const childEnv = "SEATGATE_FETCH_CHILD"

type childConfig struct {
	URL      string           `json:"url"`
	CertDER  []byte           `json:"cert_der"`
	Manifest release.Manifest `json:"manifest"`
	Target   string           `json:"target"`
	Bitmap   string           `json:"bitmap"`
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(downloadChild(cfg))
	}
	goleak.VerifyTestMain(m)
}

// downloadChild runs one Download as a separate process and returns its
// exit code: 0 if it completed, 1 if it failed.
func downloadChild(cfgJSON string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	c, err := clientForDER(cfg.CertDER)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, err = Download(context.Background(), cfg.Manifest, cfg.Target, cfg.Bitmap, Options{
		Client: c, Sources: []Source{{"hq", cfg.URL}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "download:", err)
		return 1
	}
	return 0
}

// TestResumeAfterCancel: a call cancelled at any byte leaves the next
// call at most one chunk to fetch again.
func TestResumeAfterCancel(t *testing.T) {
	const n = 32
	data, m := artifact(t, 21, n*chunk+999, chunk) // 33 chunks, the last short
	for _, at := range []int64{1, chunk / 2, 5 * chunk, 5*chunk + 1, 17*chunk - 1, n*chunk + 998} {
		t.Run(fmt.Sprintf("at byte %d", at), func(t *testing.T) {
			hq := newMirror(t, data)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			hq.set(func(hq *mirror) { hq.tripAt, hq.trip = at, cancel })
			target, bm := paths(t)

			if _, err := Download(ctx, m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Download = %v, want context.Canceled", err)
			}
			done, _, err := Completed(m, bm)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
			if err != nil {
				t.Fatalf("resumed Download: %v", err)
			}
			wantFile(t, target, data)
			if st.Resumed != done && st.Resumed != done+1 {
				t.Errorf("resumed %d chunks, the bitmap had %d (and one may be found on disk)", st.Resumed, done)
			}
			if refetched := hq.served.Load() - int64(len(data)); refetched < 0 || refetched > chunk {
				t.Errorf("served %d bytes for a %d-byte artifact: %d fetched again, want 0 to one chunk (%d)",
					hq.served.Load(), len(data), refetched, chunk)
			}
		})
	}
}

// TestResumeAfterKill: a download process SIGKILLed at a random byte of
// a slow transfer, then finished by another: at most one chunk is fetched
// twice, and the artifact is right.
func TestResumeAfterKill(t *testing.T) {
	const n = 64
	data, m := artifact(t, 22, n*chunk, chunk)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	points := []int64{8 * chunk} // a chunk boundary: the kill may land in the bitmap's replacement
	for range 3 {
		points = append(points, n*chunk/8+r.Int64N(n*chunk*3/4))
	}
	for _, at := range points {
		t.Run(fmt.Sprintf("at byte %d", at), func(t *testing.T) {
			hq := newMirror(t, data)
			tripped := make(chan struct{})
			hq.set(func(hq *mirror) {
				hq.pace = 200 * time.Microsecond // per 4 KiB: a slow link
				hq.tripAt, hq.hold, hq.trip = at, true, func() { close(tripped) }
			})
			target, bm := paths(t)
			cfg, err := json.Marshal(childConfig{URL: hq.URL, CertDER: hq.Certificate().Raw, Manifest: m, Target: target, Bitmap: bm})
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-tripped:
			case err := <-exited:
				t.Fatalf("child exited (%v) before byte %d was served:\n%s", err, at, stderr.String())
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				<-exited
				t.Fatalf("child did not reach byte %d in a minute:\n%s", at, stderr.String())
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited
			done, _, err := Completed(m, bm)
			if err != nil {
				t.Fatal(err)
			}
			if done == n {
				t.Fatalf("the child finished before it was killed")
			}

			st, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
			if err != nil {
				t.Fatalf("Download after the kill: %v", err)
			}
			wantFile(t, target, data)
			refetched := hq.served.Load() - int64(len(data))
			t.Logf("killed at byte %d with %d/%d chunks recorded; %d bytes fetched again", at, done, n, refetched)
			if st.Resumed != done && st.Resumed != done+1 || refetched < 0 || refetched > chunk {
				t.Errorf("resumed %d chunks (bitmap: %d), %d bytes fetched again; want the bitmap's count (or one more) and 0 to one chunk (%d)",
					st.Resumed, done, refetched, chunk)
			}
		})
	}
}
