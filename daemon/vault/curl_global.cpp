// SPDX-License-Identifier: Apache-2.0
// libcurl's allocator: glibc's, with every block cleansed before it is freed
// or moved. curl copies the X-Vault-Token header, request bodies (passwords)
// and reply bodies (tokens) into buffers of its own; this wipes them all.
#include <curl/curl.h>
#include <malloc.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "curl_alloc.hpp"
#include "vault_client.hpp"

namespace sshcert::curl_alloc {

void* allocate(std::size_t n) { return std::malloc(n); }

void release(void* p) {
    if (!p) return;
    OPENSSL_cleanse(p, malloc_usable_size(p));
    std::free(p);
}

void* reallocate(void* p, std::size_t n) {
    if (!p) return std::malloc(n);
    std::size_t have = malloc_usable_size(p);
    if (n <= have) return p;  // fits already: nothing moves, nothing is left behind
    void* q = std::malloc(n);
    if (!q) return nullptr;  // realloc's contract: the old block stays valid
    std::memcpy(q, p, have);
    release(p);
    return q;
}

char* duplicate(const char* s) {
    std::size_t n = std::strlen(s) + 1;
    auto* p = static_cast<char*>(std::malloc(n));
    if (p) std::memcpy(p, s, n);
    return p;
}

void* allocate_zeroed(std::size_t count, std::size_t size) { return std::calloc(count, size); }

}  // namespace sshcert::curl_alloc

namespace sshcert {

CurlGlobal::CurlGlobal() {
    using namespace curl_alloc;
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, allocate, release, reallocate, duplicate, allocate_zeroed) != CURLE_OK)
        throw std::runtime_error("curl_global_init failed");
}

CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

}  // namespace sshcert
