package aio

import "sync/atomic"

// Item is a small queue element with its own link, for the queue's tests
// and benchmarks.
// Producer and Seq are free for the user: the tests store who pushed the
// item and its place in that producer's sequence.
type Item struct {
	next     atomic.Pointer[Item]
	Producer int32
	Seq      uint64
}

// ItemLink returns the item's intrusive link; pass it to [PaddedQueue.Init] or
// [NewQueue].
func ItemLink(it *Item) *atomic.Pointer[Item] { return &it.next }

// NewItemQueue returns an empty [Queue] of Items (128-byte padding).
func NewItemQueue() *Queue[Item] {
	return NewQueue[Item, [CacheLinePad]byte](ItemLink)
}

// NewItemQueue64 returns an empty [Queue64] of Items (64-byte padding).
func NewItemQueue64() *Queue64[Item] {
	return NewQueue[Item, [CacheLinePad64]byte](ItemLink)
}
