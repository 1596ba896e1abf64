# Optional CUDA module ttc_fast._C_cuda (included by CMakeLists.txt after enable_language(CUDA)).
# Kernels (.cu) build into a static library with nvcc; the pybind11 glue is host C++; cudart is linked statically,
# so the wheel needs only the NVIDIA driver at run time.
find_package(CUDAToolkit REQUIRED)
add_library(ttc_fast_cuda_kernels STATIC csrc/cuda/vote.cu)
target_include_directories(ttc_fast_cuda_kernels PUBLIC csrc/cuda)
set_target_properties(ttc_fast_cuda_kernels PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CUDA_STANDARD 17
  CUDA_RUNTIME_LIBRARY Static)
target_compile_options(ttc_fast_cuda_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo>)

pybind11_add_module(_C_cuda csrc/cuda/bindings_cuda.cpp)
target_link_libraries(_C_cuda PRIVATE ttc_fast_cuda_kernels CUDA::cudart_static)
install(TARGETS _C_cuda LIBRARY DESTINATION ttc_fast)
