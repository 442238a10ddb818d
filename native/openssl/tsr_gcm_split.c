/* See tsr_gcm_split.h for the construction. */
#include "tsr_gcm_split.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../aead/aesgcm/tsr_gf128.h"
#include "../util/tsr_util.h"
#include "../pool/tsr_pool.h"
#include "tsr_openssl.h"

/* The fixed nonce IV' of the GMAC computations: any value works, because
 * E(IV' || 1) is computed and removed. */
static const uint8_t IVP[12] = {0};

struct tsr_gcm_split {
  EVP_CIPHER_CTX *ecb, *ctr[2], *gmac[2];
};

typedef struct {
  EVP_CIPHER_CTX *ctr, *gmac;
  int enc, ok;
  uint8_t ctr_iv[16];
  const uint8_t *in;
  uint8_t *out;
  size_t len;
  const uint8_t *a1, *a2; /* part 0 only: the associated data */
  size_t l1, l2;
  uint8_t tag_a[16], tag_c[16]; /* GMAC(A), GMAC(C part) */
  /* part 1 only: H and the exponents, to compute the powers off the caller */
  tsr_gf128 h, h_k2, h_k12;
  uint64_t k1, k2;
} part;

static int gmac(EVP_CIPHER_CTX *g, uint8_t tag[16], const uint8_t *x1, size_t l1, const uint8_t *x2, size_t l2) {
  uint8_t fin[16];
  int outl;
  return EVP_EncryptInit_ex2(g, NULL, NULL, IVP, NULL) == 1 && (l1 == 0 || tsr_openssl_update(g, NULL, x1, l1)) &&
         (l2 == 0 || tsr_openssl_update(g, NULL, x2, l2)) && EVP_EncryptFinal_ex(g, fin, &outl) == 1 &&
         EVP_CIPHER_CTX_ctrl(g, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
}

static void run_part(void *arg) {
  part *p = (part *)arg;
  p->ok = EVP_EncryptInit_ex2(p->ctr, NULL, NULL, p->ctr_iv, NULL) == 1;
  /* GHASH covers the ciphertext: after CTR when sealing, before when opening. */
  if (p->ok && !p->enc) p->ok = gmac(p->gmac, p->tag_c, p->in, p->len, NULL, 0);
  if (p->ok) p->ok = tsr_openssl_update(p->ctr, p->out, p->in, p->len);
  if (p->ok && p->enc) p->ok = gmac(p->gmac, p->tag_c, p->out, p->len, NULL, 0);
  if (p->ok && (p->l1 || p->l2)) p->ok = gmac(p->gmac, p->tag_a, p->a1, p->l1, p->a2, p->l2);
  if (p->k2) { /* part 1 */
    p->h_k2 = tsr_gf128_pow(p->h, p->k2);
    p->h_k12 = tsr_gf128_mul(tsr_gf128_pow(p->h, p->k1), p->h_k2);
  }
}

tsr_gcm_split *tsr_gcm_split_new(void) {
  const tsr_openssl_ciphers *c = tsr_openssl_fetch();
  if (!c->ctr || !c->gcm || !c->ecb) return NULL;
  tsr_gcm_split *s = (tsr_gcm_split *)calloc(1, sizeof *s);
  if (!s) return NULL;
  s->ecb = EVP_CIPHER_CTX_new();
  for (int i = 0; i < 2; i++) {
    s->ctr[i] = EVP_CIPHER_CTX_new();
    s->gmac[i] = EVP_CIPHER_CTX_new();
  }
  if (!s->ecb || !s->ctr[0] || !s->ctr[1] || !s->gmac[0] || !s->gmac[1]) {
    tsr_gcm_split_free(s);
    return NULL;
  }
  return s;
}

void tsr_gcm_split_free(tsr_gcm_split *s) {
  if (!s) return;
  EVP_CIPHER_CTX_free(s->ecb); /* each cleanses its key schedule */
  for (int i = 0; i < 2; i++) {
    EVP_CIPHER_CTX_free(s->ctr[i]);
    EVP_CIPHER_CTX_free(s->gmac[i]);
  }
  free(s);
}

static int set_key(tsr_gcm_split *s, const uint8_t key[32]) {
  const tsr_openssl_ciphers *c = tsr_openssl_fetch();
  if (EVP_EncryptInit_ex2(s->ecb, c->ecb, key, NULL, NULL) != 1) return 0;
  EVP_CIPHER_CTX_set_padding(s->ecb, 0);
  for (int i = 0; i < 2; i++)
    if (EVP_EncryptInit_ex2(s->ctr[i], c->ctr, key, NULL, NULL) != 1 ||
        EVP_EncryptInit_ex2(s->gmac[i], c->gcm, key, NULL, NULL) != 1)
      return 0;
  return 1;
}

/* [a]_64 || [b]_64 as a field element. */
static tsr_gf128 lengths(uint64_t a_bytes, uint64_t b_bytes) {
  tsr_gf128 l = {a_bytes * 8, b_bytes * 8};
  return l;
}

/* Z_X = (GMAC_X ^ E(IV' || 1)) ^ L_X * H, L_X = [len X]_64 || 0. */
static tsr_gf128 z_of(const uint8_t tag[16], tsr_gf128 ejp, tsr_gf128 h, uint64_t len) {
  tsr_gf128 g = tsr_gf128_xor(tsr_gf128_load(tag), ejp);
  return tsr_gf128_xor(g, tsr_gf128_mul(lengths(len, 0), h));
}

tsr_status tsr_gcm_split_run(tsr_gcm_split *s, const uint8_t key[32], int rekey, int enc, uint8_t *out,
                             const uint8_t iv[12], const uint8_t *in, size_t len, const uint8_t *a1, size_t l1,
                             const uint8_t *a2, size_t l2, uint8_t tag[16]) {
  if (rekey && !set_key(s, key)) return TSR_ERR_INTERNAL;
  /* H = E(0), E(J0) with J0 = iv || 1, E(IV' || 1): one ECB call. */
  uint8_t blocks[48] = {0}, enc_blocks[48];
  int outl;
  memcpy(blocks + 16, iv, 12);
  blocks[31] = 1;
  memcpy(blocks + 32, IVP, 12);
  blocks[47] = 1;
  if (EVP_EncryptUpdate(s->ecb, enc_blocks, &outl, blocks, 48) != 1 || outl != 48) return TSR_ERR_INTERNAL;
  tsr_gf128 h = tsr_gf128_load(enc_blocks), ej0 = tsr_gf128_load(enc_blocks + 16),
            ejp = tsr_gf128_load(enc_blocks + 32);

  /* Cut at a 4 KiB boundary near the middle (a multiple of the block size,
   * so C1 needs no padding and C2 starts a fresh counter). */
  size_t m = (len / 2) & ~(size_t)4095;
  part p[2];
  memset(p, 0, sizeof p);
  for (int i = 0; i < 2; i++) {
    p[i].ctr = s->ctr[i];
    p[i].gmac = s->gmac[i];
    p[i].enc = enc;
    memcpy(p[i].ctr_iv, iv, 12);
    /* CTR starts at inc32(J0) = iv || 2; C2 at iv || (2 + m / 16). No
     * 32-bit wrap: GCM limits a message to 2^32 - 2 blocks. */
    tsr_store32_be(p[i].ctr_iv + 12, (uint32_t)(2 + (i ? m / 16 : 0)));
    p[i].in = in + (i ? m : 0);
    p[i].out = out + (i ? m : 0);
    p[i].len = i ? len - m : m;
  }
  p[0].a1 = a1, p[0].l1 = l1, p[0].a2 = a2, p[0].l2 = l2;
  p[1].h = h;
  p[1].k1 = m / 16;
  p[1].k2 = (len - m + 15) / 16;

  tsr_pool_pair(run_part, &p[0], &p[1]);

  tsr_status st = TSR_ERR_INTERNAL;
  if (p[0].ok && p[1].ok) {
    tsr_gf128 za = (l1 || l2) ? z_of(p[0].tag_a, ejp, h, l1 + l2) : (tsr_gf128){0, 0};
    tsr_gf128 s_ = tsr_gf128_mul(za, p[1].h_k12);
    s_ = tsr_gf128_xor(s_, tsr_gf128_mul(z_of(p[0].tag_c, ejp, h, m), p[1].h_k2));
    s_ = tsr_gf128_xor(s_, z_of(p[1].tag_c, ejp, h, len - m));
    s_ = tsr_gf128_xor(s_, tsr_gf128_mul(lengths(l1 + l2, len), h));
    uint8_t t[16];
    tsr_gf128_store(t, tsr_gf128_xor(s_, ej0));
    if (enc) {
      memcpy(tag, t, 16);
      st = TSR_OK;
    } else {
      st = tsr_ct_compare(t, tag, 16) == 0 ? TSR_OK : TSR_ERR_AUTH;
    }
    tsr_memzero(t, sizeof t);
  }
  if (st != TSR_OK) tsr_memzero(out, len);    /* never release unauthenticated plaintext */
  tsr_memzero(enc_blocks, sizeof enc_blocks); /* H and E(J0) */
  tsr_memzero(&h, sizeof h);
  tsr_memzero(&ej0, sizeof ej0);
  tsr_memzero(p, sizeof p);
  return st;
}
