/* The runtime behind clang's `-mllvm -wasm-enable-sjlj` lowering, for the exnref encoding of
 * WebAssembly exceptions. Same contract as wasi-libc's libc-top-half/musl/src/setjmp/wasm32/rt.c:
 * setjmp records which invocation of which function owns the buffer; longjmp throws the
 * `__c_longjmp` tag with a pointer to the buffer's argument pair, and the lowered code of the
 * owning function catches it and asks __wasm_setjmp_test whether the buffer is its own. */
#include <stdint.h>

struct jmp_buf_impl {
    void *func_invocation_id;
    uint32_t label;
    /* What the catching code reads from the exception payload. */
    struct arg {
        void *env;
        int val;
    } arg;
};

_Static_assert(sizeof(struct jmp_buf_impl) <= 64, "jmp_buf in setjmp.h is too small");

/* LLVM 22 no longer defines the tag itself; it must exist exactly once in the link. */
__asm__(".globl __c_longjmp\n"
        ".tagtype __c_longjmp i32\n"
        "__c_longjmp:\n");

void __wasm_setjmp(void *env, uint32_t label, void *func_invocation_id) {
    struct jmp_buf_impl *jb = env;
    if (label == 0 || func_invocation_id == 0)
        __builtin_trap(); /* the lowering never passes these */
    jb->func_invocation_id = func_invocation_id;
    jb->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *func_invocation_id) {
    struct jmp_buf_impl *jb = env;
    return jb->func_invocation_id == func_invocation_id ? jb->label : 0;
}

_Noreturn void __wasm_longjmp(void *env, int val) {
    struct jmp_buf_impl *jb = env;
    jb->arg.env = env;
    jb->arg.val = val == 0 ? 1 : val;
    __builtin_wasm_throw(1, &jb->arg); /* tag 1 is __c_longjmp */
}
