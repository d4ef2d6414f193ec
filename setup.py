"""Build fastconv's Cython bindings together with the C kernels they call.

Each binding `fastconv/_ext/<family>.pyx` names the C files it links in a
`# distutils: sources = ...` header line, so adding an op family needs no edit here.

Environment variables:
  FASTCONV_NATIVE=1   also compile with -march=native (off by default: wheels must be portable)
  FASTCONV_DEBUG=1    Cython bounds and wraparound checks on, -O0 -g
  FASTCONV_NO_OPENMP=1  build the serial library even where OpenMP is available
"""
import glob
import os
import sys
import sysconfig
import tempfile
import textwrap

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.errors import CompileError, LinkError
from setuptools._distutils.sysconfig import customize_compiler

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
    """
)


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")


def openmp_flags():
    """Compile and link a tiny OpenMP program; return the flags that worked, or None."""
    if env_flag("FASTCONV_NO_OPENMP"):
        return None
    compiler = new_compiler()
    customize_compiler(compiler)
    flags = ["-fopenmp"]
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objects, os.path.join(tmp, "probe"), extra_postargs=flags)
        except (CompileError, LinkError):
            return None
    return flags


def build_settings():
    debug = env_flag("FASTCONV_DEBUG")
    compile_args = ["-O0", "-g"] if debug else ["-O3"]
    # No kernel reads errno, and without it sqrt vectorises (still correctly rounded: the
    # same results); unlike -ffast-math this changes no arithmetic.
    compile_args.append("-fno-math-errno")
    link_args = []
    if env_flag("FASTCONV_NATIVE"):
        compile_args.append("-march=native")
    omp = openmp_flags()
    if omp is None:
        print("fastconv: no working OpenMP found; building the serial library", file=sys.stderr)
        compile_args.append("-Wno-unknown-pragmas")
    else:
        compile_args += omp
        link_args += omp
    compiler_name = sysconfig.get_config_var("CC") or "cc"
    macros = [
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("FASTCONV_OPENMP", "1" if omp else "0"),
        ("FASTCONV_COMPILER", '"%s"' % compiler_name.split()[0]),
        ("FASTCONV_COMPILE_FLAGS", '"%s"' % " ".join(compile_args)),
    ]
    return debug, compile_args, link_args, macros


def extensions():
    debug, compile_args, link_args, macros = build_settings()
    exts = []
    for pyx in sorted(glob.glob(os.path.join("fastconv", "_ext", "*.pyx"))):
        family = os.path.splitext(os.path.basename(pyx))[0]
        exts.append(Extension(
            "fastconv._ext." + family,
            sources=[pyx],
            depends=glob.glob(os.path.join("fastconv", "_kernels", "*")),
            include_dirs=[numpy.get_include(), os.path.join("fastconv", "_kernels")],
            define_macros=macros,
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        ))
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
    }
    return cythonize(exts, compiler_directives=directives)


setup(ext_modules=extensions())
