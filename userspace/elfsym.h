/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Function symbols of an ELF object, for choosing uprobe attach points: where a function
 * starts (virtual address and file offset, which is what the kernel's uprobe API takes) and how
 * long it is. .dynsym first (what the dynamic linker binds calls to), then .symtab.
 */
#ifndef LW_ELFSYM_H
#define LW_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lw_elf;

struct lw_elf_sym {
	uint64_t vaddr;
	uint64_t size;
	uint64_t file_offset;
};

/* Opens path read-only; NULL with errno set on failure (EINVAL: not an ELF object). */
struct lw_elf *lw_elf__open(const char *path);
void lw_elf__free(struct lw_elf *e);
/* 0, or -ENOENT when the object defines no function of that name. */
int lw_elf__find_func(struct lw_elf *e, const char *name, struct lw_elf_sym *out);
/*
 * A data symbol: 0, or -ENOENT. file_offset is LW_ELF_NO_OFFSET when the object has no bytes
 * in the file (.bss).
 */
#define LW_ELF_NO_OFFSET UINT64_MAX
int lw_elf__find_object(struct lw_elf *e, const char *name, struct lw_elf_sym *out);
/* Copy len bytes at file offset off (a function's first instructions). 0 or -errno. */
int lw_elf__read(struct lw_elf *e, uint64_t off, void *buf, size_t len);

#endif /* LW_ELFSYM_H */
