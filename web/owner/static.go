package owner

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

// The stylesheet and the script, embedded: the dashboard needs nothing
// from the internet.
//
//go:embed static
var staticDir embed.FS

type staticFile struct {
	body  []byte
	etag  string
	ctype string
}

// staticFiles are the assets by name, with an ETag of their content
// (embedded files have no modification time).
type staticFiles map[string]staticFile

func loadStatic() (staticFiles, error) {
	out := staticFiles{}
	err := fs.WalkDir(staticDir, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticDir.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		out[path.Base(p)] = staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	return out, nil
}

// serve answers GET /static/{name}. Assets hold no member data: they are
// served without a session (the login page needs them).
func (s staticFiles) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := s[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag changes with the firmware
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
