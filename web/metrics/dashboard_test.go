package metrics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	hqmetrics "github.com/pkfreelance/seatgate/hq/metrics"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

const dashboardFile = "../../deploy/grafana/seatgate.json"

// targetLabels are the labels Prometheus adds to every series it scrapes.
var targetLabels = []string{"instance", "job"}

// exported is every family the gateway's and HQ's registries export, with
// every source set and every event observed once.
func exported(t *testing.T) families {
	t.Helper()
	all := scrape(t, fullGateway(t).Handler())
	hq := hqmetrics.New(hqmetrics.Sources{
		Ingest:   func() ingest.Stats { return ingest.Stats{} },
		Fleet:    func() fleet.Stats { return fleet.Stats{} },
		Gateways: func(string) []fleet.Gateway { return nil },
		Rollouts: func(context.Context) ([]rollout.Status, error) { return nil, nil },
	})
	hq.Instrument("GET /", http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for name, fam := range scrape(t, hq.Handler()) {
		all[name] = fam
	}
	return all
}

// dashboard is the parts of the Grafana dashboard the tests look at.
type dashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"`
}

type panel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *datasource        `json:"datasource"`
	GridPos    struct{ X, W int } `json:"gridPos"`
	Targets    []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not a dashboard: %v", dashboardFile, err)
	}
	return d, b
}

func TestDashboardIsWellFormed(t *testing.T) {
	d, _ := readDashboard(t)
	if d.SchemaVersion != 39 {
		t.Errorf("schemaVersion %d, want 39", d.SchemaVersion)
	}
	hasDS := slices.ContainsFunc(d.Templating.List, func(v variable) bool {
		return v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus"
	})
	if !hasDS {
		t.Error("no datasource variable DS_PROMETHEUS of type prometheus")
	}
	ids := map[int]string{}
	for _, p := range d.Panels {
		if prev, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos x=%d w=%d does not fit 24 columns", p.Title, p.GridPos.X, p.GridPos.W)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: datasource %+v, want uid ${DS_PROMETHEUS}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.Datasource == nil || q.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q query %s: datasource %+v, want uid ${DS_PROMETHEUS}", p.Title, q.RefID, q.Datasource)
			}
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q query %s is empty", p.Title, q.RefID)
			}
			if strings.Count(q.Expr, "(") != strings.Count(q.Expr, ")") || strings.Count(q.Expr, "{") != strings.Count(q.Expr, "}") {
				t.Errorf("panel %q query %s: unbalanced brackets in %q", p.Title, q.RefID, q.Expr)
			}
		}
	}
}

var (
	metricName = regexp.MustCompile(`\b(?:seatgate|seathq)_[a-zA-Z0-9_]+`)
	// selector is a metric name followed by its label matchers.
	selector = regexp.MustCompile(`\b((?:seatgate|seathq)_[a-zA-Z0-9_]+)\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// expressions are every PromQL expression in the dashboard: the panels'
// queries and the template variables' queries.
func expressions(t *testing.T, raw []byte) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, k)
			}
		case []any:
			for _, x := range v {
				walk(x, key)
			}
		case string:
			if key == "expr" || key == "query" || key == "definition" {
				out = append(out, v)
			}
		}
	}
	walk(doc, "")
	return out
}

// family is the family that name is a sample of: itself, or a histogram's
// for its _bucket, _sum and _count series.
func family(all families, name string) (*dto.MetricFamily, bool) {
	if f, ok := all[name]; ok {
		return f, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := all[base]; ok && f.GetType() == dto.MetricType_HISTOGRAM {
				return f, true
			}
		}
	}
	return nil, false
}

// labelNames are the labels of a family's samples (with le for a
// histogram's buckets).
func labelNames(f *dto.MetricFamily) []string {
	out := slices.Clone(targetLabels)
	if f.GetType() == dto.MetricType_HISTOGRAM {
		out = append(out, "le")
	}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			out = append(out, lp.GetName())
		}
	}
	return out
}

// TestDashboardUsesOnlyExportedMetrics keeps the dashboard from drifting:
// every metric its queries name is one the registries export, with the
// labels it matches and groups by.
func TestDashboardUsesOnlyExportedMetrics(t *testing.T) {
	_, raw := readDashboard(t)
	all := exported(t)
	used := map[string]bool{}
	for _, expr := range expressions(t, raw) {
		var labels []string
		for _, name := range metricName.FindAllString(expr, -1) {
			f, ok := family(all, name)
			if !ok {
				t.Errorf("%s in %q: no such metric is exported", name, expr)
				continue
			}
			used[f.GetName()] = true
			labels = append(labels, labelNames(f)...)
		}
		for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
			f, ok := family(all, sel[1])
			if !ok {
				continue
			}
			for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
				if !slices.Contains(labelNames(f), m[1]) {
					t.Errorf("%s{%s} in %q: %s has no label %s", sel[1], sel[2], expr, sel[1], m[1])
				}
			}
		}
		for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
			for l := range strings.SplitSeq(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
					t.Errorf("by (%s) in %q: no metric of the expression has label %s", g[1], expr, l)
				}
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, name := range []string{"seatgate_taps_total", "seatgate_tap_decision_seconds", "seatgate_reader_errors_total",
		"seatgate_outbox_depth", "seatgate_outbox_oldest_age_seconds", "seatgate_hq_connected",
		"seatgate_membership_revision", "seatgate_journal_lag_revisions", "seatgate_update_phase",
		"seathq_ingest_batches_total", "seathq_ingest_rejected_total", "seathq_gateways", "seathq_seats",
		"seathq_seats_occupied", "seathq_rollouts"} {
		if !used[name] {
			t.Errorf("the dashboard does not chart %s", name)
		}
	}
}

// TestDashboardCheckCatchesDrift shows that the check above can fail: a
// renamed metric and a label that does not exist are both found.
func TestDashboardCheckCatchesDrift(t *testing.T) {
	all := exported(t)
	if _, ok := family(all, "seatgate_taps"); ok {
		t.Error("seatgate_taps (without _total) counted as exported")
	}
	if _, ok := family(all, "seatgate_outbox_depth_bucket"); ok {
		t.Error("a gauge's _bucket counted as a histogram series")
	}
	f, _ := family(all, "seatgate_taps_total")
	if slices.Contains(labelNames(f), "member") {
		t.Error("seatgate_taps_total has a member label")
	}
	if _, ok := family(all, "seatgate_tap_decision_seconds_bucket"); !ok {
		t.Error("a histogram's _bucket series not found")
	}
}
