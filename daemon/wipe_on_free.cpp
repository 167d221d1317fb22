// SPDX-License-Identifier: Apache-2.0
// sshcertd's heap forgets what it held: every block is overwritten when it is
// freed. Our strings and JSON go through operator delete below, OpenSSL's TLS
// records through CRYPTO_set_mem_functions, libcurl's through CurlGlobal. A
// password or token that passed through a temporary is then gone with it, not
// left in free memory for a later core dump or /proc/PID/mem reader. Keys themselves live in
// OpenSSL's secure heap (see platform/hygiene.cpp). Linked into sshcertd only.
#include <malloc.h>
#include <openssl/crypto.h>
#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "wipe_on_free.hpp"

namespace {

void wiping_free(void* p) noexcept {
    if (!p) return;
    explicit_bzero(p, malloc_usable_size(p));
    std::free(p);
}

void* wiping_realloc(void* p, std::size_t n) noexcept {
    if (!p) return std::malloc(n);
    std::size_t old = malloc_usable_size(p);
    if (n <= old) return p;  // fits where it is; the tail keeps nothing new
    void* q = std::malloc(n);
    if (!q) return nullptr;
    std::memcpy(q, p, old);
    wiping_free(p);
    return q;
}

void* allocate(std::size_t n) {
    for (;;) {
        if (void* p = std::malloc(n ? n : 1)) return p;
        std::new_handler h = std::get_new_handler();
        if (!h) throw std::bad_alloc();
        h();
    }
}

void* allocate_aligned(std::size_t n, std::align_val_t a) {
    std::size_t align = static_cast<std::size_t>(a);
    std::size_t size = ((n ? n : 1) + align - 1) / align * align;  // aligned_alloc wants a multiple
    if (void* p = std::aligned_alloc(align, size)) return p;
    throw std::bad_alloc();
}

}  // namespace

namespace sshcert {

void install_wiping_allocators() {
    // OpenSSL allows this only before its first allocation: call first thing in main.
    CRYPTO_set_mem_functions([](std::size_t n, const char*, int) { return std::malloc(n); },
                             [](void* p, std::size_t n, const char*, int) { return wiping_realloc(p, n); },
                             [](void* p, const char*, int) { wiping_free(p); });
}

}  // namespace sshcert

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_aligned(n, a); }
void operator delete(void* p) noexcept { wiping_free(p); }
void operator delete[](void* p) noexcept { wiping_free(p); }
void operator delete(void* p, std::size_t) noexcept { wiping_free(p); }
void operator delete[](void* p, std::size_t) noexcept { wiping_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { wiping_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { wiping_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { wiping_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { wiping_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { wiping_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { wiping_free(p); }
