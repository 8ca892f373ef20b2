package firmware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// objectIndex says where an object's bytes are: chunk i starts at offs[i]
// and is the message of stream sequence seqs[i].
type objectIndex struct {
	subject string // the object's chunk subject
	size    int64
	offs    []int64
	seqs    []uint64
}

// chunkLen is the length of chunk i.
func (x *objectIndex) chunkLen(i int) int64 {
	if i == len(x.offs)-1 {
		return x.size - x.offs[i]
	}
	return x.offs[i+1] - x.offs[i]
}

// chunkAt is the chunk holding byte off (0 ≤ off < size).
func (x *objectIndex) chunkAt(off int64) int {
	return sort.Search(len(x.offs), func(i int) bool { return x.offs[i] > off }) - 1
}

type indexEntry struct {
	ready chan struct{}
	idx   *objectIndex
	err   error
}

// indexTimeout bounds the building of an index.
const indexTimeout = 30 * time.Second

// maxIndexes bounds the indexes kept in memory; a few hundred bytes each.
const maxIndexes = 1024

// index returns the index of an object, built once per object (its NUID:
// a stored object never changes) by the first request that needs it.
func (s *Store) index(ctx context.Context, info *jetstream.ObjectInfo) (*objectIndex, error) {
	s.mu.Lock()
	e, ok := s.indexes[info.NUID]
	if !ok {
		if len(s.indexes) >= maxIndexes {
			clear(s.indexes)
		}
		e = &indexEntry{ready: make(chan struct{})}
		s.indexes[info.NUID] = e
	}
	s.mu.Unlock()
	if !ok {
		// Not bound to this request: others may be waiting for it.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexTimeout)
		e.idx, e.err = s.buildIndex(bctx, info)
		cancel()
		if e.err != nil {
			s.mu.Lock()
			delete(s.indexes, info.NUID) // the next request tries again
			s.mu.Unlock()
		}
		close(e.ready)
	}
	select {
	case <-e.ready:
		return e.idx, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// buildIndex reads the sequences and sizes of an object's chunk messages
// with a headers-only consumer, without their data.
func (s *Store) buildIndex(ctx context.Context, info *jetstream.ObjectInfo) (*objectIndex, error) {
	x := &objectIndex{subject: fmt.Sprintf("$O.%s.C.%s", ObjectBucket, info.NUID), size: int64(info.Size)}
	want := int(info.Chunks)
	if want == 0 {
		return x, nil
	}
	cons, err := s.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: x.subject, DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckNonePolicy,
		HeadersOnly: true, MemoryStorage: true, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("firmware: index artifact %s: %w", info.Name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.stream.DeleteConsumer(dctx, cons.CachedInfo().Name) // else it goes after InactiveThreshold
	}()
	var off int64
	for len(x.seqs) < want {
		batch, err := cons.Fetch(min(want-len(x.seqs), 1000), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("firmware: index artifact %s: %w", info.Name, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				return nil, fmt.Errorf("firmware: index artifact %s: %w", info.Name, err)
			}
			n, err := strconv.ParseInt(msg.Headers().Get("Nats-Msg-Size"), 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("firmware: index artifact %s: chunk at sequence %d without a size", info.Name, md.Sequence.Stream)
			}
			x.offs = append(x.offs, off)
			x.seqs = append(x.seqs, md.Sequence.Stream)
			off += n
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("firmware: index artifact %s: %w", info.Name, err)
		}
		if got == 0 {
			return nil, fmt.Errorf("firmware: index artifact %s: %d chunks of %d found", info.Name, len(x.seqs), want)
		}
	}
	if off != x.size || len(x.seqs) != want {
		return nil, fmt.Errorf("firmware: index artifact %s: %d chunks of %d bytes in all, its info says %d and %d",
			info.Name, len(x.seqs), off, want, x.size)
	}
	return x, nil
}

// getChunk returns the data of one chunk message.
type getChunk func(ctx context.Context, seq uint64) ([]byte, error)

// streamChunk reads a chunk message of the object store's stream by
// sequence (a direct get when the stream allows it, as object stores do).
func (s *Store) streamChunk(subject string) getChunk {
	return func(ctx context.Context, seq uint64) ([]byte, error) {
		msg, err := s.stream.GetMsg(ctx, seq)
		if err != nil {
			return nil, err
		}
		if msg.Subject != subject {
			return nil, fmt.Errorf("message %d is on %s, not %s", seq, msg.Subject, subject)
		}
		return msg.Data, nil
	}
}

// objectReader reads an object at any offset, fetching only the chunks it
// reads (and the current one once). It is an io.ReadSeeker, for
// http.ServeContent.
type objectReader struct {
	ctx context.Context
	get getChunk
	idx *objectIndex
	off int64
	cur int    // the chunk in buf, or -1
	buf []byte // its data
}

func newObjectReader(ctx context.Context, idx *objectIndex, get getChunk) *objectReader {
	return &objectReader{ctx: ctx, get: get, idx: idx, cur: -1}
}

var errChunk = errors.New("firmware: stored chunk does not match the object's index")

func (r *objectReader) Read(p []byte) (int, error) {
	if r.off >= r.idx.size {
		return 0, io.EOF
	}
	i := r.idx.chunkAt(r.off)
	if i != r.cur {
		data, err := r.get(r.ctx, r.idx.seqs[i])
		if err != nil {
			return 0, fmt.Errorf("firmware: read chunk %d of %s: %w", i, r.idx.subject, err)
		}
		if int64(len(data)) != r.idx.chunkLen(i) {
			return 0, fmt.Errorf("%w: chunk %d of %s has %d bytes, want %d", errChunk, i, r.idx.subject, len(data), r.idx.chunkLen(i))
		}
		r.cur, r.buf = i, data
	}
	n := copy(p, r.buf[r.off-r.idx.offs[i]:])
	r.off += int64(n)
	return n, nil
}

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.idx.size
	default:
		return 0, fmt.Errorf("firmware: seek: whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("firmware: seek to %d, before the start", offset)
	}
	r.off = offset
	return offset, nil
}
