// SPDX-License-Identifier: Apache-2.0
// The allocation functions CurlGlobal gives libcurl (curl_global_init_mem):
// glibc's, but a block is cleansed before it is freed, and before realloc
// moves it. Declared here so a unit test can check them.
#pragma once

#include <cstddef>

namespace sshcert::curl_alloc {

void* allocate(std::size_t n);
void release(void* p);
void* reallocate(void* p, std::size_t n);
char* duplicate(const char* s);
void* allocate_zeroed(std::size_t count, std::size_t size);

}  // namespace sshcert::curl_alloc
