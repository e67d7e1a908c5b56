#pragma once
// The outbox's undelivered events by seq (private to src/crm). Seqs almost always arrive in
// increasing order (appends), and a CRM outage piles up millions of them: a std::map paid a
// heap node (~100 bytes with the value) and a tree rebalance per event, and the fresh memory
// written per event slowed the scoring threads around it (docs/BENCHMARKS.md `## crm`). Here
// values live in slots of fixed-size chunks addressed by seq - base, so an append writes one
// slot in a chunk allocated every kChunk events. A std::map keeps what the chunks cannot:
// seqs older than the first chunk (a replayed dead letter) and the few events left in a
// mostly finished old chunk (moved out, so one stuck event does not pin kChunk slots).
//
// Not thread-safe (the Outbox's state mutex guards it). A value's address is stable until it
// is erased or until an erase or insert moves the stragglers of the oldest chunk.

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>

namespace crm::detail {

template <typename T>
class SeqIndex {
 public:
  static constexpr int64_t kChunk = 1024;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool contains(int64_t seq) const { return find(seq) != nullptr; }

  T* find(int64_t seq) { return const_cast<T*>(std::as_const(*this).find(seq)); }
  const T* find(int64_t seq) const {
    if (seq < base_) {
      auto it = old_.find(seq);
      return it == old_.end() ? nullptr : &it->second;
    }
    const auto [chunk, slot] = locate(seq);
    if (chunk >= chunks_.size() || !chunks_[chunk]->live[slot]) return nullptr;
    return &chunks_[chunk]->values[slot];
  }
  T& at(int64_t seq) {
    T* v = find(seq);
    if (v == nullptr) throw std::out_of_range("SeqIndex::at: no such seq");
    return *v;
  }

  // Adds `value` under `seq`, which must not be present. Returns where it is now.
  T& insert(int64_t seq, T value) {
    if (chunks_.empty() && seq >= base_) base_ = seq - floor_mod(seq);  // never lowered
    if (seq < base_) {
      ++size_;
      return old_.emplace(seq, std::move(value)).first->second;
    }
    if (locate(seq).first >= chunks_.size() + kMaxGapChunks) {
      // Far beyond the chunks (seqs jumped, e.g. every old event finished long ago but one):
      // move what they hold into the map and start again at `seq`.
      while (!chunks_.empty()) drop_front_chunk();
      base_ = seq - floor_mod(seq);
    }
    const auto [chunk, slot] = locate(seq);
    while (chunk >= chunks_.size()) chunks_.push_back(std::make_unique<Chunk>());
    Chunk& c = *chunks_[chunk];
    c.values[slot] = std::move(value);
    c.live.set(slot);
    ++c.count;
    ++size_;
    trim();  // may move it (an older seq into a sparse first chunk): look it up again
    return *find(seq);
  }

  // Removes `seq` if present; returns whether it was.
  bool erase(int64_t seq) {
    if (seq < base_) {
      if (old_.erase(seq) == 0) return false;
      --size_;
      return true;
    }
    const auto [chunk, slot] = locate(seq);
    if (chunk >= chunks_.size() || !chunks_[chunk]->live[slot]) return false;
    Chunk& c = *chunks_[chunk];
    c.live.reset(slot);
    c.values[slot] = T{};
    --c.count;
    --size_;
    trim();
    return true;
  }

  // Calls fn(seq, value) in seq order until it returns false.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [seq, v] : old_) {
      if (!fn(seq, v)) return;
    }
    for (size_t k = 0; k < chunks_.size(); ++k) {
      const Chunk& c = *chunks_[k];
      if (c.count == 0) continue;
      for (int64_t s = 0; s < kChunk; ++s) {
        if (c.live[static_cast<size_t>(s)] &&
            !fn(base_ + static_cast<int64_t>(k) * kChunk + s, c.values[static_cast<size_t>(s)])) {
          return;
        }
      }
    }
  }

  // For tests: values held by the map rather than in chunks, and chunks allocated.
  size_t in_map() const { return old_.size(); }
  size_t chunks() const { return chunks_.size(); }

 private:
  // A chunk of the oldest kStragglers or fewer live values is emptied into the map once
  // kKeepChunks newer ones exist: at most 1/64 of its slots were still used.
  static constexpr size_t kStragglers = kChunk / 64;
  static constexpr size_t kKeepChunks = 4;
  static constexpr size_t kMaxGapChunks = 16;

  struct Chunk {
    T values[kChunk];
    std::bitset<kChunk> live;
    size_t count = 0;
  };

  static int64_t floor_mod(int64_t seq) { return ((seq % kChunk) + kChunk) % kChunk; }
  std::pair<size_t, size_t> locate(int64_t seq) const {
    const int64_t off = seq - base_;
    return {static_cast<size_t>(off / kChunk), static_cast<size_t>(off % kChunk)};
  }

  void drop_front_chunk() {
    Chunk& c = *chunks_.front();
    for (int64_t s = 0; s < kChunk && c.count > 0; ++s) {
      if (!c.live[static_cast<size_t>(s)]) continue;
      old_.emplace_hint(old_.end(), base_ + s, std::move(c.values[static_cast<size_t>(s)]));
      --c.count;
    }
    chunks_.pop_front();
    base_ += kChunk;
  }

  // Frees finished chunks at the front, and moves a nearly finished old one's stragglers.
  void trim() {
    while (!chunks_.empty() &&
           (chunks_.front()->count == 0 ||
            (chunks_.front()->count <= kStragglers && chunks_.size() > kKeepChunks))) {
      drop_front_chunk();
    }
  }

  std::deque<std::unique_ptr<Chunk>> chunks_;
  int64_t base_ = 0;          // seq of chunks_[0]'s first slot (a multiple of kChunk)
  std::map<int64_t, T> old_;  // every seq here is < base_
  size_t size_ = 0;
};

}  // namespace crm::detail
