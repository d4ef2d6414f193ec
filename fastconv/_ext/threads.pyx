# distutils: sources = fastconv/_kernels/threads.c
"""Bindings to the OpenMP runtime and CPU feature queries (see threads.h)."""

cdef extern from "threads.h":
    int fc_openmp_enabled()
    int fc_omp_max_threads()
    void fc_omp_set_num_threads(int n)
    int fc_cpu_supports(const char *feature)

cdef extern from *:
    """
    static const char *fc_compiler_name = FASTCONV_COMPILER;
    static const char *fc_compile_flags = FASTCONV_COMPILE_FLAGS;
    """
    const char *fc_compiler_name
    const char *fc_compile_flags


def openmp_enabled():
    return bool(fc_openmp_enabled())


def omp_max_threads():
    return fc_omp_max_threads()


def omp_set_num_threads(int n):
    fc_omp_set_num_threads(n)


def cpu_supports(str feature):
    return bool(fc_cpu_supports(feature.encode("ascii")))


def compiler():
    return fc_compiler_name.decode()


def compile_flags():
    return fc_compile_flags.decode()
