package owner

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// bar is one bar of a chart. A bar that is not Present (an hour still to
// come, a zone without seats) keeps its place and label but is not drawn.
type bar struct {
	Label   string
	Title   string
	Value   float64 // 0..1
	Present bool
}

// Chart geometry, in SVG user units; the SVG scales to its box.
const (
	chartW      = 640
	chartH      = 220
	chartLeft   = 40 // room for the percentages
	chartRight  = 8
	chartTop    = 12
	chartBottom = 26 // room for the labels
)

// barChart draws bars of percentages 0–100 % as an inline SVG: no
// script, no library, readable without colour (every bar has its value
// as a tooltip, and as text when there are few bars). Every labelEvery-th
// label is written (1: all).
func barChart(title string, bars []bar, labelEvery int) template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	plotH := float64(chartH - chartTop - chartBottom)
	y := func(v float64) float64 { return chartTop + plotH*(1-v) }
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartW-chartRight, y(g), y(g))
		if g == 0 || g == 0.5 || g == 1 {
			fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%d%%</text>`, chartLeft-4, y(g)+4, int(g*100))
		}
	}
	if len(bars) == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := float64(chartW-chartLeft-chartRight) / float64(len(bars))
	width := math.Max(slot*0.75, 1)
	labelEvery = max(labelEvery, 1)
	for i, br := range bars {
		x := chartLeft + slot*float64(i) + (slot-width)/2
		mid := x + width/2
		if br.Present {
			v := math.Min(math.Max(br.Value, 0), 1)
			pct := percent(v)
			fmt.Fprintf(&b, `<g class="bar" data-label="%s" data-value="%d"><title>%s: %d%%</title>`, esc(br.Label), pct, esc(br.Title), pct)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, y(v), width, y(0)-y(v))
			if len(bars) <= 12 {
				fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle">%d%%</text>`, mid, y(v)-3, pct)
			}
			b.WriteString(`</g>`)
		}
		if i%labelEvery == 0 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, mid, chartH-8, esc(br.Label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// percent rounds a fraction to a whole percentage.
func percent(v float64) int { return int(math.Round(v * 100)) }
