#include "server/auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace ms::server {
namespace {

TEST(ApiKeys, NoKeysAllowsEverything) {
    EXPECT_FALSE(ApiKeys().enabled());
    EXPECT_TRUE(ApiKeys().allows(""));
}

TEST(ApiKeys, BearerKeyMustMatchOneOfThem) {
    const ApiKeys keys({"k1", "secret-2"});
    EXPECT_TRUE(keys.allows("Bearer k1"));
    EXPECT_TRUE(keys.allows("Bearer secret-2"));
    EXPECT_FALSE(keys.allows(""));
    EXPECT_FALSE(keys.allows("k1"));
    EXPECT_FALSE(keys.allows("Bearer "));
    EXPECT_FALSE(keys.allows("Bearer k2"));
    EXPECT_FALSE(keys.allows("Bearer k1x"));
    EXPECT_FALSE(keys.allows("Basic k1"));
}

TEST(ApiKeys, SchemeIsCaseInsensitive) {
    const ApiKeys keys({"k1"});
    EXPECT_TRUE(keys.allows("bearer k1"));
    EXPECT_TRUE(keys.allows("BEARER k1"));
    EXPECT_TRUE(keys.allows("bEaReR k1"));
    EXPECT_FALSE(keys.allows("bearer K1"));  // the key itself is not
    EXPECT_FALSE(keys.allows("bearerk1"));
}

TEST(ApiKeys, FileHasOneKeyPerLine) {
    const std::string path = ::testing::TempDir() + "/keys.txt";
    std::ofstream(path) << "# comment\n  alpha  \n\nbeta\r\n";
    const auto keys = ApiKeys::from_file(path);
    EXPECT_TRUE(keys.allows("Bearer alpha"));
    EXPECT_TRUE(keys.allows("Bearer beta"));
    EXPECT_FALSE(keys.allows("Bearer # comment"));
    std::remove(path.c_str());
}

TEST(ApiKeys, EmptyOrMissingFileIsAnError) {
    const std::string path = ::testing::TempDir() + "/empty_keys.txt";
    std::ofstream(path) << "\n# nothing\n";
    EXPECT_THROW(ApiKeys::from_file(path), std::runtime_error);
    EXPECT_THROW(ApiKeys::from_file(path + ".missing"), std::runtime_error);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace ms::server
