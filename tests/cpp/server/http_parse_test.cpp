#include "server/http_parse.h"

#include <gtest/gtest.h>

#include "server/api_error.h"

namespace ms::server {
namespace {

int status_of(const std::string& bytes, size_t limit = 1024) {
    try {
        parse_http_request(bytes, limit);
        return 200;
    } catch (const ApiError& e) {
        return e.status();
    }
}

TEST(HttpParse, PostWithBody) {
    const auto r = parse_http_request(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        "Content-Length: 2\r\n\r\n{}",
        1024);
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/v1/completions");
    EXPECT_EQ(r.authorization, "Bearer k");
    EXPECT_EQ(r.body, "{}");
}

TEST(HttpParse, ChunkedBody) {
    const auto r = parse_http_request(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
        1024);
    EXPECT_EQ(r.body, "abc");
}

TEST(HttpParse, BodyOverLimitIs413) {
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", 1024), 413);
}

TEST(HttpParse, MalformedOrIncompleteIs400) {
    EXPECT_EQ(status_of("GARBAGE\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\nextra"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
}

std::string chunked_with_trailer(size_t value_bytes) {
    return "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
           std::string(value_bytes, 't') + "\r\n\r\n";
}

// Beast throws std::length_error for a field over 64 KiB; a trailer must fail as a 431 first.
TEST(HttpParse, TrailerLargerThanTheReadBufferIs431) {
    EXPECT_EQ(status_of(chunked_with_trailer(100)), 200);
    EXPECT_EQ(status_of(chunked_with_trailer(65'600)), 431);
    EXPECT_EQ(status_of(chunked_with_trailer(kReadBufferBytes)), 431);
    EXPECT_EQ(status_of(chunked_with_trailer(1 << 20)), 431);
}

TEST(HttpParse, OverlongHeaderIs431AndOverlongTargetIs414) {
    const std::string big(kHeaderLimitBytes, 'a');
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n"), 431);
    EXPECT_EQ(status_of("GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
    const std::string long_target(kRequestLineLimitBytes + 1, 'b');
    EXPECT_EQ(status_of("GET /" + long_target + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
}

TEST(HttpParse, ErrorMessageKeepsBytesAfterANul) {
    const ApiError error = ApiError::invalid(std::string("model a\0b", 9));
    EXPECT_NE(error.to_json().find("a\\u0000b"), std::string::npos);
}

}  // namespace
}  // namespace ms::server
