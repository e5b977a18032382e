//! The pending-event set: a 4-ary implicit min-heap of small keys plus a slab
//! holding the payloads.
//!
//! Layout rationale: the heap is where all the memory traffic of a large
//! simulation goes, so its entries carry only what ordering needs (time, seq)
//! and where the payload lives (slot) — never the payload itself, whose size
//! is up to the user. A 4-ary heap halves the depth of a binary heap while the
//! four children of a node stay contiguous (96 bytes, two adjacent cache
//! lines that the prefetcher fetches together), so a deletion pays roughly
//! half the dependent memory round trips of a binary heap. Payloads stay put in
//! the slab for their whole life; freed slots are chained into a free list so
//! a steady-state simulation allocates nothing per event.
//!
//! Cancellation is lazy: the slot is freed at once, but the heap entry stays
//! until it reaches the top, where it is recognised as stale because the slot
//! no longer records that entry's seq as its owner. Stale entries are purged in
//! bulk once they outnumber live ones, so a workload that keeps arming and
//! cancelling far-future timers cannot grow the heap without bound.

use crate::time::SimTime;

/// Identifies one scheduled event; returned by `push`/`schedule`, accepted by
/// `cancel`. A key is only meaningful for the queue that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    seq: u64,
    slot: u32,
}

impl EventKey {
    /// The event's global sequence number: its rank among all pushes, which
    /// breaks ties between events scheduled for the same time.
    pub fn seq(self) -> u64 {
        self.seq
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Entry {
    /// Strict `(time, seq)` order. Folding both into one u128 lets the
    /// compiler emit a branch-free compare instead of two dependent ones.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

#[derive(Clone, Debug)]
enum Slot<E> {
    Occupied { seq: u64, payload: E },
    Free { next: u32 },
}

/// Marks the end of the free list; also never handed out as a slot index.
const NO_SLOT: u32 = u32::MAX;
const ARITY: usize = 4;

/// Position of the smallest entry of a non-empty slice.
#[inline(always)]
fn min_index(entries: &[Entry]) -> usize {
    let mut best = 0;
    let mut best_key = entries[0].key();
    for (i, e) in entries.iter().enumerate().skip(1) {
        let k = e.key();
        if k < best_key {
            best = i;
            best_key = k;
        }
    }
    best
}

/// Pending events ordered by `(time, seq)`; see the crate docs for the
/// ordering contract.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: Vec<Entry>,
    slab: Vec<Slot<E>>,
    free_head: u32,
    next_seq: u64,
    live: usize,
    /// Heap entries whose event was cancelled but which have not been purged.
    stale: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// Preallocates room for `n` simultaneously pending events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
            slab: Vec::with_capacity(n),
            free_head: NO_SLOT,
            next_seq: 0,
            live: 0,
            stale: 0,
        }
    }

    /// Schedules `payload` at `at`. Events pushed for the same time pop in push
    /// order.
    ///
    /// # Panics
    /// If more than `u32::MAX - 1` events are pending at once, or after
    /// `u64::MAX - 1` pushes in total; neither is reachable in practice, and
    /// continuing would break the ordering contract.
    pub fn push(&mut self, at: SimTime, payload: E) -> EventKey {
        let seq = self.next_seq;
        // u64::MAX itself is never issued so it can serve as a "no event"
        // marker elsewhere (see `Divergence::ENDED`).
        self.next_seq = seq
            .checked_add(1)
            .filter(|&n| n != u64::MAX)
            .expect("event sequence counter exhausted");
        let slot = self.alloc_slot(seq, payload);
        self.heap.push(Entry {
            time: at.as_nanos(),
            seq,
            slot,
        });
        self.sift_up(self.heap.len() - 1);
        self.live += 1;
        EventKey { seq, slot }
    }

    fn alloc_slot(&mut self, seq: u64, payload: E) -> u32 {
        let occupied = Slot::Occupied { seq, payload };
        if self.free_head != NO_SLOT {
            let slot = self.free_head;
            let old = std::mem::replace(&mut self.slab[slot as usize], occupied);
            if let Slot::Free { next } = old {
                self.free_head = next;
            } else {
                unreachable!("free list points at an occupied slot");
            }
            slot
        } else {
            let slot = u32::try_from(self.slab.len())
                .ok()
                .filter(|&s| s != NO_SLOT)
                .expect("too many pending events (more than u32::MAX - 1)");
            self.slab.push(occupied);
            slot
        }
    }

    /// Takes the payload out of `slot` if `seq` still owns it.
    fn release(&mut self, slot: u32, seq: u64) -> Option<E> {
        let cell = self.slab.get_mut(slot as usize)?;
        if !matches!(cell, Slot::Occupied { seq: owner, .. } if *owner == seq) {
            return None;
        }
        let old = std::mem::replace(
            cell,
            Slot::Free {
                next: self.free_head,
            },
        );
        self.free_head = slot;
        match old {
            Slot::Occupied { payload, .. } => Some(payload),
            Slot::Free { .. } => unreachable!("checked occupied above"),
        }
    }

    /// Removes a pending event, returning its payload; `None` if it already
    /// popped or was already cancelled.
    pub fn cancel(&mut self, key: EventKey) -> Option<E> {
        let payload = self.release(key.slot, key.seq)?;
        self.live -= 1;
        self.stale += 1;
        // The floor keeps tiny queues from rebuilding on every cancel; the
        // ratio makes the O(n) rebuild amortise to O(1) per cancel.
        if self.stale > 64 && self.stale > self.live {
            self.purge_stale();
        }
        Some(payload)
    }

    fn purge_stale(&mut self) {
        let slab = &self.slab;
        self.heap.retain(
            |e| matches!(slab[e.slot as usize], Slot::Occupied { seq, .. } if seq == e.seq),
        );
        self.stale = 0;
        let n = self.heap.len();
        if n > 1 {
            for i in (0..=(n - 2) / ARITY).rev() {
                let item = self.heap[i];
                self.sift_down(i, item);
            }
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, EventKey, E)> {
        loop {
            let top = *self.heap.first()?;
            self.remove_top();
            if let Some(payload) = self.release(top.slot, top.seq) {
                self.live -= 1;
                return Some((
                    SimTime::from_nanos(top.time),
                    EventKey {
                        seq: top.seq,
                        slot: top.slot,
                    },
                    payload,
                ));
            }
            self.stale -= 1;
        }
    }

    /// The time of the earliest live event. Takes `&mut self` because it
    /// discards cancelled entries sitting at the top.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        loop {
            let top = *self.heap.first()?;
            if matches!(self.slab[top.slot as usize], Slot::Occupied { seq, .. } if seq == top.seq)
            {
                return Some(SimTime::from_nanos(top.time));
            }
            self.remove_top();
            self.stale -= 1;
        }
    }

    /// Number of live (not cancelled, not popped) events.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Floyd's bottom-up deletion: walk the hole at the root down to a leaf
    /// along the smaller children without comparing against the element that
    /// will fill it, then sift that element (the old last leaf) up. The last
    /// leaf almost always belongs near the bottom again, so this saves one
    /// comparison per level over the classic sift-down and the sift-up
    /// usually stops after a step or two.
    fn remove_top(&mut self) {
        let Some(last) = self.heap.pop() else { return };
        if self.heap.is_empty() {
            return;
        }
        let heap = &mut self.heap[..];
        let n = heap.len();
        let mut hole = 0;
        loop {
            let first = hole * ARITY + 1;
            if first + ARITY <= n {
                let c = &heap[first..first + ARITY];
                // Pairwise tournament: two independent compares, then one,
                // instead of a chain of three dependent ones.
                let (a, ka) = if c[1].key() < c[0].key() {
                    (1, c[1].key())
                } else {
                    (0, c[0].key())
                };
                let (b, kb) = if c[3].key() < c[2].key() {
                    (3, c[3].key())
                } else {
                    (2, c[2].key())
                };
                let best = first + if kb < ka { b } else { a };
                heap[hole] = heap[best];
                hole = best;
            } else {
                if first < n {
                    let best = first + min_index(&heap[first..n]);
                    heap[hole] = heap[best];
                    hole = best;
                }
                break;
            }
        }
        heap[hole] = last;
        self.sift_up(hole);
    }

    fn sift_up(&mut self, mut hole: usize) {
        let heap = &mut self.heap[..];
        let item = heap[hole];
        let key = item.key();
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if heap[parent].key() <= key {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = item;
    }

    /// Places `item` at `hole` or below, moving smaller children up. Only
    /// used to rebuild the heap after a purge.
    fn sift_down(&mut self, mut hole: usize, item: Entry) {
        let heap = &mut self.heap[..];
        let n = heap.len();
        let key = item.key();
        loop {
            let first = hole * ARITY + 1;
            if first >= n {
                break;
            }
            let best = first + min_index(&heap[first..n.min(first + ARITY)]);
            if key <= heap[best].key() {
                break;
            }
            heap[hole] = heap[best];
            hole = best;
        }
        heap[hole] = item;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> SimTime {
        SimTime::from_nanos(n)
    }

    #[test]
    fn same_time_pops_in_push_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(t(5), i);
        }
        q.push(t(1), -1);
        assert_eq!(q.pop().map(|(_, _, p)| p), Some(-1));
        for i in 0..100 {
            assert_eq!(q.pop().map(|(_, _, p)| p), Some(i));
        }
        assert!(q.pop().is_none());
    }

    #[test]
    fn cancel_is_one_shot_and_slot_reuse_is_safe() {
        let mut q = EventQueue::new();
        let a = q.push(t(10), "a");
        assert_eq!(q.cancel(a), Some("a"));
        assert_eq!(q.cancel(a), None);
        // Reuses a's slot; the old key must not reach the new event.
        let b = q.push(t(20), "b");
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.peek_time(), Some(t(20)));
        assert_eq!(q.pop(), Some((t(20), b, "b")));
        assert_eq!(q.cancel(b), None);
        assert!(q.is_empty());
        assert_eq!(q.peek_time(), None);
    }

    #[test]
    fn purge_keeps_live_events_in_order() {
        let mut q = EventQueue::new();
        let keys: Vec<_> = (0..1000u64)
            .map(|i| q.push(t((i * 7919) % 1000), i))
            .collect();
        for k in keys.iter().filter(|k| k.seq() % 10 != 0) {
            q.cancel(*k);
        }
        assert_eq!(q.len(), 100);
        assert!(q.heap.len() < 1000, "stale entries should have been purged");
        let mut last = (0, 0);
        let mut n = 0;
        while let Some((time, key, payload)) = q.pop() {
            assert_eq!(payload % 10, 0);
            assert!((time.as_nanos(), key.seq()) > last || n == 0);
            last = (time.as_nanos(), key.seq());
            n += 1;
        }
        assert_eq!(n, 100);
    }
}
