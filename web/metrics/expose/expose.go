// Package expose serves a Prometheus registry the same way on the gateway
// and at HQ: with the Go runtime and process collectors, at most four
// scrapes at once, and a collector that fails logged (and counted in
// promhttp_metric_handler_errors_total) while the rest is still served.
package expose

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler registers the runtime and process collectors on reg and returns
// the handler that serves it in Prometheus's exposition formats.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            slogPrinter{log},
		Registry:            reg,
		MaxRequestsInFlight: 4,
	})
}

// slogPrinter gives promhttp's error log to a slog.Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	msg := ""
	if len(v) > 0 {
		if s, ok := v[0].(string); ok {
			msg, v = s, v[1:]
		}
	}
	attrs := make([]any, 0, len(v))
	for _, x := range v {
		attrs = append(attrs, slog.Any("err", x))
	}
	p.log.Warn("metrics: "+msg, attrs...)
}
