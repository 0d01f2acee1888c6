/* The heap's break, in place of wasi-libc's `sbrk`, which grows linear memory by exactly what
 * malloc asks, 64 KiB at a time as a heap grows. Each `memory.grow` costs a host such as V8 far
 * more than the pages it adds (a new buffer for every view of the memory), so memory here grows
 * by an eighth of its size at least, and the break moves within it; untouched pages cost no
 * resident memory. If the larger growth is refused (a host's memory cap), the exact one is tried.
 *
 * Nothing else in the guest grows memory, so the break starts at the memory's end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define PAGE 65536u

/* The break: 0 until the first call, then the end of the memory malloc has been given. */
static uintptr_t brk_end;

void *sbrk(intptr_t increment) {
    uint64_t size = (uint64_t)__builtin_wasm_memory_size(0) * PAGE;
    if (brk_end == 0) brk_end = (uintptr_t)size;
    if (increment == 0) return (void *)brk_end;
    /* dlmalloc asks for whole pages and never gives memory back. */
    if (increment < 0 || increment % PAGE != 0) abort();
    uint64_t end = (uint64_t)brk_end + (uint64_t)increment;
    if (end > size) {
        uint64_t needed = (end - size) / PAGE;
        uint64_t more = size / PAGE / 8;
        if (more < needed ||
            __builtin_wasm_memory_grow(0, (uintptr_t)more) == SIZE_MAX) {
            if (__builtin_wasm_memory_grow(0, (uintptr_t)needed) == SIZE_MAX) {
                errno = ENOMEM;
                return (void *)-1;
            }
        }
    }
    void *old = (void *)brk_end;
    brk_end = (uintptr_t)end;
    return old;
}
