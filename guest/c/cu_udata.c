/* Userdata with a given metatable, in one call each: bigints (guest/src/bigint/block.rs) are read
 * and made on every arithmetic operation, where the public API needs five calls to check a
 * userdata's metatable and three to make one.
 *
 * Included at the end of lapi.c by guest/build.rs, for its `index2value`. */

/* The memory of the full userdata at `idx` if its metatable is the table at `meta`, else NULL. */
void *cu_udata_with_metatable (lua_State *L, int idx, int meta) {
  const TValue *o = index2value(L, idx);
  const TValue *mt = index2value(L, meta);
  if (ttisfulluserdata(o) && ttistable(mt) && uvalue(o)->metatable == hvalue(mt))
    return getudatamem(uvalue(o));
  return NULL;
}

/* Pushes a new full userdata of `size` bytes, without user values, whose metatable is the table
 * at `meta` (an absolute or pseudo index), and returns its memory. The metatable must have no
 * `__gc` (and be protected by `__metatable`, so that no script adds one): no finalizer is set. */
void *cu_new_udata_with_metatable (lua_State *L, size_t size, int meta) {
  Table *mt = hvalue(index2value(L, meta));
  void *memory = lua_newuserdatauv(L, size, 0);
  Udata *u = uvalue(s2v(L->top.p - 1));
  u->metatable = mt;
  luaC_objbarrier(L, u, mt);
  return memory;
}
