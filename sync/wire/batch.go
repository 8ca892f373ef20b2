package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/pkfreelance/seatgate/access/store"
)

// maxBatchOverhead is the size of a signed EventBatch with no events and
// the longest possible IDs and numbers: what a batch takes besides its
// events and the commas between them.
var maxBatchOverhead = func() int {
	b, err := json.Marshal(EventBatch{
		V: Version, Centre: strings.Repeat("c", 32), Gateway: strings.Repeat("g", 32),
		Boot: math.MaxUint64, First: math.MaxUint64, Last: math.MaxUint64, PrevHash: GenesisHash,
		Events: []store.Event{}, Sig: strings.Repeat("s", sigLen),
	})
	if err != nil {
		panic(err)
	}
	return len(b)
}()

// FitBatch returns how many of the leading events fit in one EventBatch:
// at most MaxBatchEvents, and few enough that the signed batch is within
// MaxPayload whatever its IDs and numbers. (Events of a real log take
// about 300 bytes each, so a full batch holds fewer than MaxBatchEvents.)
// It fails with ErrTooLarge when not even the first event fits.
func FitBatch(events []store.Event) (int, error) {
	size := maxBatchOverhead
	n := 0
	for _, e := range events[:min(len(events), MaxBatchEvents)] {
		b, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("wire: fit batch: event %d: %w", e.Seq, err)
		}
		if n > 0 {
			size++ // comma
		}
		if size+len(b) > MaxPayload {
			break
		}
		size += len(b)
		n++
	}
	if n == 0 && len(events) > 0 {
		return 0, &MessageError{Message: "EventBatch", Kind: ErrTooLarge, Field: "events[0]",
			Reason: fmt.Sprintf("event %d alone exceeds %d bytes", events[0].Seq, MaxPayload)}
	}
	return n, nil
}
