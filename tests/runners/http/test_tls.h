#pragma once
// Throwaway PKI for the TLS tests, made with OpenSSL's C API at test time (no files in the repo,
// no `openssl` program needed): a CA and server certificates it signs, written as PEM files.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace moebench::testing {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { ::EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { ::X509_free(x); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

class test_pki {
 public:
  // A CA named `ca_name`, its certificate written to dir/<ca_name>-ca.pem.
  test_pki(std::filesystem::path dir, const std::string& ca_name) : dir_(std::move(dir)) {
    ca_key_ = make_key();
    ca_ = make_cert(ca_name, ca_key_.get(), nullptr, ca_key_.get(), true, "");
    ca_file_ = dir_ / (ca_name + "-ca.pem");
    write_cert(ca_file_, ca_.get());
  }

  const std::filesystem::path& ca_file() const { return ca_file_; }

  struct server_files {
    std::filesystem::path cert, key;
  };
  // A server certificate for `alt_names` (e.g. "IP:127.0.0.1,DNS:localhost") signed by the CA.
  server_files issue(const std::string& name, const std::string& alt_names) {
    pkey_ptr key = make_key();
    x509_ptr cert = make_cert(name, key.get(), ca_.get(), ca_key_.get(), false, alt_names);
    server_files f{dir_ / (name + ".pem"), dir_ / (name + "-key.pem")};
    write_cert(f.cert, cert.get());
    std::FILE* out = std::fopen(f.key.c_str(), "w");
    EXPECT_NE(out, nullptr);
    if (out) {
      EXPECT_EQ(::PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
      std::fclose(out);
    }
    return f;
  }

 private:
  static pkey_ptr make_key() {
    pkey_ptr k(::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    EXPECT_NE(k, nullptr);
    return k;
  }

  static void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx{};
    ::X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = ::X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    ASSERT_NE(ext, nullptr) << value;
    ::X509_add_ext(cert, ext, -1);
    ::X509_EXTENSION_free(ext);
  }

  x509_ptr make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                     const std::string& alt_names) {
    x509_ptr x(::X509_new());
    ::X509_set_version(x.get(), 2);
    ::ASN1_INTEGER_set(::X509_get_serialNumber(x.get()), ++serial_);
    ::X509_gmtime_adj(::X509_getm_notBefore(x.get()), -3600);
    ::X509_gmtime_adj(::X509_getm_notAfter(x.get()), 24 * 3600);
    ::X509_set_pubkey(x.get(), key);
    X509_NAME* name = ::X509_get_subject_name(x.get());
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0);
    ::X509_set_issuer_name(x.get(), issuer ? ::X509_get_subject_name(issuer) : name);
    add_ext(x.get(), issuer, NID_subject_key_identifier, "hash");
    if (ca) {
      add_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(x.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
      add_ext(x.get(), issuer, NID_authority_key_identifier, "keyid:always");
      add_ext(x.get(), issuer, NID_ext_key_usage, "serverAuth");
      if (!alt_names.empty()) add_ext(x.get(), issuer, NID_subject_alt_name, alt_names);
    }
    EXPECT_GT(::X509_sign(x.get(), issuer_key, ::EVP_sha256()), 0);
    return x;
  }

  static void write_cert(const std::filesystem::path& p, X509* x) {
    std::FILE* out = std::fopen(p.c_str(), "w");
    ASSERT_NE(out, nullptr) << p;
    EXPECT_EQ(::PEM_write_X509(out, x), 1);
    std::fclose(out);
  }

  std::filesystem::path dir_;
  std::filesystem::path ca_file_;
  pkey_ptr ca_key_;
  x509_ptr ca_;
  long serial_ = 0;
};

}  // namespace moebench::testing
