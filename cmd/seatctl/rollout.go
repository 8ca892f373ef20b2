package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

const rolloutUsage = `Rollouts (through the API, as above):
  seatctl rollout start --id ID --version V [--canary C/G,…] [--percent 5,25,100] [--window 02:00-05:00]
                        [--tz Asia/Karachi] [--success 0.95] [--failure 0.05] [--stall-after 2h] [--channel CH]
                                            send a published release to the fleet in cohorts: the canaries,
                                            then growing percentages of the gateways (by a hash of their id)
  seatctl rollout status [ID]               every rollout, or one with its counts and failures
  seatctl rollout pause ID [--reason TEXT]  stop assigning (gateways already assigned carry on)
  seatctl rollout resume ID                 go on (acknowledges the failures seen so far)
  seatctl rollout abort ID                  stop for good
`

func cmdRolloutStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("rollout start", stderr, noCentre)
	id := h.fs.String("id", "", "rollout id (a-z, 0-9, '-')")
	version := h.fs.String("version", "", "the published release to roll out")
	channel := h.fs.String("channel", "", "channel (default the release's)")
	canary := h.fs.String("canary", "", "canary gateways, comma separated centre/gateway")
	percent := h.fs.String("percent", "", "cumulative percentages of the fleet after the canaries (default 5,25,100)")
	window := h.fs.String("window", "", "maintenance window HH:MM-HH:MM in the centre's local time (default any time)")
	tz := h.fs.String("tz", "", "time zone of the window (default Asia/Karachi)")
	success := h.fs.Float64("success", 0, "fraction of a cohort that must succeed to go on (default 0.95)")
	failure := h.fs.Float64("failure", 0, "fraction failed that pauses the rollout (default 0.05)")
	stall := h.fs.Duration("stall-after", 0, "no progress for this long counts as stalled (default 2h)")
	c, err := h.parse(args, 0)
	if err != nil {
		return err
	}
	if *id == "" || *version == "" {
		return fmt.Errorf("%w: rollout start needs --id and --version", errUsage)
	}
	spec := map[string]any{"id": *id, "version": *version}
	if *channel != "" {
		spec["channel"] = *channel
	}
	if *canary != "" {
		spec["canary"] = strings.Split(*canary, ",")
	}
	if *percent != "" {
		var ps []int
		for _, p := range strings.Split(*percent, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return fmt.Errorf("%w: --percent %q: want numbers such as 5,25,100", errUsage, *percent)
			}
			ps = append(ps, n)
		}
		spec["percentages"] = ps
	}
	if *window != "" {
		start, end, ok := strings.Cut(*window, "-")
		if !ok {
			return fmt.Errorf("%w: --window %q: want HH:MM-HH:MM", errUsage, *window)
		}
		spec["window"] = map[string]string{"start": start, "end": end, "tz": *tz}
	}
	if *success != 0 {
		spec["success_threshold"] = *success
	}
	if *failure != 0 {
		spec["failure_threshold"] = *failure
	}
	if *stall != 0 {
		spec["stall_after"] = stall.String()
	}
	var st rollout.Status
	if err := c.postJSON(ctx, "/api/v1/rollouts", spec, &st); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollout %s started: release %s (%s) on channel %s\n", st.Spec.ID, st.Spec.Version,
		short(st.Spec.Manifest), st.Spec.Channel)
	printRollout(stdout, st)
	return nil
}

func cmdRolloutStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("rollout status", stderr, noCentre)
	asJSON := h.fs.Bool("json", false, "print the API's JSON")
	if err := h.fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if h.fs.NArg() > 1 {
		return fmt.Errorf("%w: rollout status takes at most one rollout id", errUsage)
	}
	c, err := h.client()
	if err != nil {
		return err
	}
	if h.fs.NArg() == 1 {
		var st rollout.Status
		data, err := c.call(ctx, "GET", "/api/v1/rollouts/"+url.PathEscape(h.fs.Arg(0)), "", nil, &st)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err = stdout.Write(data)
			return err
		}
		printRollout(stdout, st)
		return nil
	}
	var list []rollout.Status
	data, err := c.call(ctx, "GET", "/api/v1/rollouts", "", nil, &list)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = stdout.Write(data)
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLLOUT\tVERSION\tSTATE\tCOHORT\tSUCCEEDED\tIN PROGRESS\tFAILED\tSTALLED\tUNREACHABLE\tPENDING\tELIGIBLE")
	for _, st := range list {
		n := st.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", st.Spec.ID, st.Spec.Version, st.State, cohortName(st),
			n.Succeeded, n.InProgress, n.Failed, n.Stalled, n.Unreachable, n.Pending, n.Eligible)
	}
	return tw.Flush()
}

// rolloutAction is pause, resume or abort.
func rolloutAction(action string) command {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		h := newHQCommand("rollout "+action, stderr, noCentre)
		reason := ""
		if action == "pause" {
			h.fs.StringVar(&reason, "reason", "", "why (shown in rollout status)")
		}
		// The id may come first ("seatctl rollout pause ID --reason …")
		// or after the flags.
		var id string
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			id, args = args[0], args[1:]
		}
		if err := h.fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if id == "" && h.fs.NArg() == 1 {
			id = h.fs.Arg(0)
		} else if h.fs.NArg() > 0 {
			return fmt.Errorf("%w: rollout %s takes one rollout id, got %q", errUsage, action, h.fs.Args())
		}
		c, err := h.client()
		if err != nil {
			return err
		}
		if id == "" {
			return fmt.Errorf("%w: rollout %s takes a rollout id", errUsage, action)
		}
		var body any
		if reason != "" {
			body = map[string]string{"reason": reason}
		}
		var st rollout.Status
		if err := c.postJSON(ctx, "/api/v1/rollouts/"+url.PathEscape(id)+"/"+action, body, &st); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rollout %s: %s\n", st.Spec.ID, st.State)
		printRollout(stdout, st)
		return nil
	}
}

func cohortName(st rollout.Status) string {
	if st.Cohort == 0 {
		return "canaries"
	}
	if i := st.Cohort - 1; i < len(st.Spec.Percentages) {
		return strconv.Itoa(st.Spec.Percentages[i]) + "%"
	}
	return strconv.Itoa(st.Cohort)
}

func printRollout(w io.Writer, st rollout.Status) {
	n := st.Counts
	fmt.Fprintf(w, "  state %s", st.State)
	if st.Reason != "" {
		fmt.Fprintf(w, " (%s)", st.Reason)
	}
	win := st.Spec.Window.String()
	if win == "" {
		win = "any time"
	} else if st.Spec.Window.TZ != "" {
		win += " " + st.Spec.Window.TZ
	}
	fmt.Fprintf(w, "; cohort %s; window %s\n", cohortName(st), win)
	fmt.Fprintf(w, "  eligible %d, assigned %d: succeeded %d, in progress %d, failed %d, stalled %d, unreachable (offline) %d; pending %d\n",
		n.Eligible, n.Assigned, n.Succeeded, n.InProgress, n.Failed, n.Stalled, n.Unreachable, n.Pending)
	ids := make([]string, 0, len(st.Failures))
	for id := range st.Failures {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := st.Failures[id]
		ack := ""
		if f.Acknowledged {
			ack = " (acknowledged)"
		}
		fmt.Fprintf(w, "  failed %s: %s at %s: %s%s\n", id, f.Phase, f.At.Format(time.RFC3339), f.Detail, ack)
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
