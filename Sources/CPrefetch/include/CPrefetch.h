// A hint to the CPU that an address will be read soon, for the collector's walks over a heap larger than
// the caches (Swift has no prefetch of its own). It never faults and changes no memory: a wrong or stale
// address only costs the hint.
#ifndef HEAPD_CPREFETCH_H
#define HEAPD_CPREFETCH_H

static inline void heapd_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

static inline void heapd_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
