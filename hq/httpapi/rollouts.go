package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	hqfirmware "github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

// MaxSpecBody bounds a rollout spec.
const MaxSpecBody = 64 << 10

// startRollout is POST /api/v1/rollouts: a rollout spec (rollout.ParseSpec's
// JSON). "manifest" may be left out: it is the SHA-256 of the published
// release "version"; "channel" defaults to the release's.
func (a *api) startRollout(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSpecBody))
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return badRequest("rollout spec: %v", err)
	}
	var version string
	if err := json.Unmarshal(fields["version"], &version); err != nil || version == "" {
		return badRequest(`rollout spec: "version" (a published release) is required`)
	}
	rel, err := a.Firmware.Release(r.Context(), version)
	if err != nil {
		if errors.Is(err, hqfirmware.ErrNotFound) {
			return &httpError{http.StatusNotFound, "release " + version + " is not published (seatctl release publish)"}
		}
		return err
	}
	if _, ok := fields["manifest"]; !ok {
		fields["manifest"], _ = json.Marshal(rel.Manifest.SHA256)
	}
	if _, ok := fields["channel"]; !ok {
		fields["channel"], _ = json.Marshal(rel.Manifest.Channel)
	}
	if _, ok := fields["arch"]; !ok {
		fields["arch"], _ = json.Marshal(rel.Manifest.Arch)
	}
	if body, err = json.Marshal(fields); err != nil {
		return err
	}
	spec, err := rollout.ParseSpec(body)
	if err != nil {
		return badRequest("%v", err)
	}
	if spec.Manifest != rel.Manifest.SHA256 {
		return badRequest("rollout spec: manifest %s is not release %s's (%s)", spec.Manifest, version, rel.Manifest.SHA256)
	}
	if spec.Channel != rel.Manifest.Channel {
		return badRequest("rollout spec: channel %q, but release %s is for channel %q (gateways on %q would refuse it)",
			spec.Channel, version, rel.Manifest.Channel, spec.Channel)
	}
	st, err := a.Rollouts.Start(r.Context(), spec, time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, st)
	return nil
}

// rollouts is GET /api/v1/rollouts.
func (a *api) rollouts(w http.ResponseWriter, r *http.Request) error {
	list, err := a.Rollouts.List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []rollout.Status{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// rolloutStatus is GET /api/v1/rollouts/{id}.
func (a *api) rolloutStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Rollouts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// rolloutAction is POST /api/v1/rollouts/{id}/{action}: pause (with an
// optional {"reason": "..."}), resume or abort.
func (a *api) rolloutAction(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var (
		st  rollout.Status
		err error
	)
	switch r.PathValue("action") {
	case "pause":
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := decode(w, r, &body); err != nil {
				return err
			}
		}
		if body.Reason == "" {
			body.Reason = "paused by an operator"
		}
		st, err = a.Rollouts.Pause(r.Context(), id, body.Reason)
	case "resume":
		st, err = a.Rollouts.Resume(r.Context(), id)
	case "abort":
		st, err = a.Rollouts.Abort(r.Context(), id)
	default:
		return &httpError{http.StatusNotFound, "unknown rollout action " + r.PathValue("action") + ": want pause, resume or abort"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
