/* setjmp for wasm32-wasip2 with the WebAssembly exception-handling proposal.
 *
 * Neither Rust's bundled wasi-libc nor Debian's wasi-libc ships a setjmp.h that works with clang's
 * `-mllvm -wasm-enable-sjlj` lowering. LLVM rewrites calls to `setjmp`/`longjmp` into calls to the
 * runtime in setjmp_rt.c, so only the declarations and a large enough buffer are needed here. */
#ifndef CU_SETJMP_H
#define CU_SETJMP_H

/* The runtime keeps a function invocation id, a label and the longjmp argument pair in the buffer:
 * 16 bytes on wasm32. 64 bytes leaves room, as wasi-libc does. */
typedef unsigned long long jmp_buf[8];

int setjmp(jmp_buf env) __attribute__((returns_twice));
_Noreturn void longjmp(jmp_buf env, int val);

/* Lua's POSIX configuration uses the underscore forms, which need not save the signal mask. */
#define _setjmp setjmp
#define _longjmp longjmp

#endif
