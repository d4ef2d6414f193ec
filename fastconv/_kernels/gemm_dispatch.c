/* Which micro-kernel the engine uses, and the per-thread memory it packs into. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gemm.h"
#include "gemm_kernels.h"

enum { ISA_GENERIC, ISA_AVX2, ISA_AVX512, ISA_COUNT };
static const char *const isa_names[ISA_COUNT] = {"generic", "avx2", "avx512"};

static int isa_in_use = ISA_GENERIC;
static int isa_refused = 0;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static int cpu_can_run(int isa)
{
#ifdef FC_GEMM_X86
    if (isa == ISA_AVX512)
        return __builtin_cpu_supports("avx512f") != 0;
    if (isa == ISA_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == ISA_GENERIC;
}

/* Runs once per process: the best ISA the CPU runs, unless FASTCONV_ISA names another
 * one it runs. A name it cannot run (or an unknown name) is refused, not obeyed. */
static void choose_isa(void)
{
#ifdef FC_GEMM_X86
    __builtin_cpu_init();
#endif
    int best = ISA_GENERIC;
    for (int isa = ISA_GENERIC; isa < ISA_COUNT; isa++)
        if (cpu_can_run(isa))
            best = isa;
    isa_in_use = best;
    const char *forced = getenv("FASTCONV_ISA");
    if (forced == NULL || forced[0] == '\0')
        return;
    for (int isa = ISA_GENERIC; isa < ISA_COUNT; isa++)
        if (strcmp(forced, isa_names[isa]) == 0 && cpu_can_run(isa)) {
            isa_in_use = isa;
            return;
        }
    isa_refused = 1;
}

static int current_isa(void)
{
    pthread_once(&isa_once, choose_isa);
    return isa_in_use;
}

const char *fc_gemm_isa(void) { return isa_names[current_isa()]; }

int fc_gemm_isa_forced_refused(void)
{
    current_isa();
    return isa_refused;
}

const fc_gemm_config_f32 *fc_gemm_config_get_f32(void)
{
    switch (current_isa()) {
#ifdef FC_GEMM_X86
    case ISA_AVX512: return &fc_gemm_avx512_f32;
    case ISA_AVX2: return &fc_gemm_avx2_f32;
#endif
    default: return &fc_gemm_generic_f32;
    }
}

const fc_gemm_config_f64 *fc_gemm_config_get_f64(void)
{
    switch (current_isa()) {
#ifdef FC_GEMM_X86
    case ISA_AVX512: return &fc_gemm_avx512_f64;
    case ISA_AVX2: return &fc_gemm_avx2_f64;
#endif
    default: return &fc_gemm_generic_f64;
    }
}

/* Per-thread buffers. A thread's arena lives until the thread ends (the key's destructor
 * frees it), so OpenMP's pooled workers and long-lived Python threads allocate once and
 * reuse; a buffer only grows, to the largest request its slot has seen. */
typedef struct {
    void *data[FC_ARENA_SLOTS];
    size_t size[FC_ARENA_SLOTS];
} arena;

enum { HUGE_PAGE = 2 << 20 };

static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_free(void *p)
{
    arena *a = p;
    for (int s = 0; s < FC_ARENA_SLOTS; s++)
        free(a->data[s]);
    free(a);
}

static void arena_make_key(void) { pthread_key_create(&arena_key, arena_free); }

void *fc_arena(int slot, size_t bytes)
{
    pthread_once(&arena_once, arena_make_key);
    arena *a = pthread_getspecific(arena_key);
    if (a == NULL) {
        a = calloc(1, sizeof *a);
        if (a == NULL || pthread_setspecific(arena_key, a) != 0) {
            free(a);
            return NULL;
        }
    }
    if (a->size[slot] < bytes || a->data[slot] == NULL) {
        /* Packed panels are walked sliver by sliver across hundreds of 4 KiB pages, enough
         * to miss the TLB: big buffers ask for 2 MiB pages (as NumPy does for its arrays). */
        const int huge = bytes >= HUGE_PAGE / 8;
        const size_t align = huge ? HUGE_PAGE : 64;
        const size_t rounded = (bytes + align - 1) / align * align + (huge ? 0 : 64);
        void *p = NULL;
        free(a->data[slot]);
        a->data[slot] = NULL;
        a->size[slot] = 0;
        if (posix_memalign(&p, align, rounded) != 0)
            return NULL;
#ifdef MADV_HUGEPAGE
        if (huge)
            madvise(p, rounded, MADV_HUGEPAGE);  /* a hint: 4 KiB pages work as well */
#endif
        a->data[slot] = p;
        a->size[slot] = rounded;
    }
    return a->data[slot];
}

void *fc_workspace(int slot, size_t bytes)
{
    if (slot < 0 || slot >= FC_WORKSPACE_SLOTS)
        return NULL;
    return fc_arena(slot, bytes);
}
