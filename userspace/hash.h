/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Hashing for in-memory tables and stable ids. */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stdint.h>

/* A 64-bit finalizer (MurmurHash3's fmix64): every input bit moves every output bit. */
static inline uint64_t lw_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

#endif /* LW_HASH_H */
