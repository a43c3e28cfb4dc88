// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"

struct lw_elf {
	int fd;
	Elf *elf;
};

struct lw_elf *lw_elf__open(const char *path)
{
	struct lw_elf *e;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0) {
		err = errno;
		free(e);
		errno = err;
		return NULL;
	}
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		lw_elf__free(e);
		errno = EINVAL;
		return NULL;
	}
	return e;
}

void lw_elf__free(struct lw_elf *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

/* uprobes take a file offset: map the symbol's address through the PT_LOAD that holds it. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static int find_in(struct lw_elf *e, Elf_Scn *scn, GElf_Shdr *sh, const char *name,
		   unsigned int type, struct lw_elf_sym *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count;
	GElf_Sym sym;

	if (!data || !sh->sh_entsize)
		return -ENOENT;
	count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		const char *sname;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != type ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		sname = elf_strptr(e->elf, sh->sh_link, sym.st_name);
		if (!sname || strcmp(sname, name))
			continue;
		out->vaddr = sym.st_value;
		out->size = sym.st_size;
		if (type == STT_OBJECT && vaddr_to_offset(e->elf, sym.st_value, &out->file_offset)) {
			out->file_offset = LW_ELF_NO_OFFSET;	/* .bss: no bytes in the file */
			return 0;
		}
		return vaddr_to_offset(e->elf, sym.st_value, &out->file_offset);
	}
	return -ENOENT;
}

static int find_sym(struct lw_elf *e, const char *name, unsigned int type,
		    struct lw_elf_sym *out)
{
	static const unsigned int order[] = { SHT_DYNSYM, SHT_SYMTAB };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;

		while ((scn = elf_nextscn(e->elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != order[k])
				continue;
			if (!find_in(e, scn, &sh, name, type, out))
				return 0;
		}
	}
	return -ENOENT;
}

int lw_elf__find_func(struct lw_elf *e, const char *name, struct lw_elf_sym *out)
{
	return find_sym(e, name, STT_FUNC, out);
}

int lw_elf__find_object(struct lw_elf *e, const char *name, struct lw_elf_sym *out)
{
	return find_sym(e, name, STT_OBJECT, out);
}

int lw_elf__read(struct lw_elf *e, uint64_t off, void *buf, size_t len)
{
	ssize_t n = pread(e->fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
