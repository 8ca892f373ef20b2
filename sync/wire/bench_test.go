package wire_test

import (
	"testing"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// fullBatch is a signed batch as large as FitBatch allows for a real log.
func fullBatch(b *testing.B) []byte {
	events := chain(b, wire.MaxBatchEvents)
	n, err := wire.FitBatch(events)
	if err != nil {
		b.Fatal(err)
	}
	m := wire.EventBatch{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, First: 1, Last: uint64(n),
		PrevHash: wire.GenesisHash, Events: events[:n]}
	mustSign(b, deviceKey, &m)
	return mustEncode(b, m)
}

// BenchmarkIngestEventBatch is HQ's work per full batch: decode, verify
// the signature, verify the chain.
func BenchmarkIngestEventBatch(b *testing.B) {
	in := fullBatch(b)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		m, err := wire.DecodeEventBatch(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := wire.Verify(pub(deviceKey), &m); err != nil {
			b.Fatal(err)
		}
		if err := wire.VerifyChain(m.PrevHash, m.Events); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEventBatch(b *testing.B) {
	in := fullBatch(b)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := wire.DecodeEventBatch(in); err != nil {
			b.Fatal(err)
		}
	}
}
