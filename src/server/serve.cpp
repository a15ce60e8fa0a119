#include "server/serve.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace ms::server {

int serve(engine::Engine& engine, const tok::Vocab& vocab, ServeOptions options) {
    OpenAiService service(engine, vocab, std::move(options.service));
    HttpServer http(options.http,
                    [&service](HttpRequest request, std::shared_ptr<ResponseChannel> channel) {
                        service.handle(std::move(request), std::move(channel));
                    });
    std::printf("listening on http://%s:%u\n", options.http.host.c_str(), unsigned(http.port()));
    std::fflush(stdout);

    std::thread drainer;
    std::atomic<bool> drained{false};
    http.run([&] {
        std::fprintf(stderr, "shutting down: finishing accepted requests\n");
        service.begin_drain();
        http.stop_accepting();
        drainer = std::thread([&] {
            engine.drain();  // blocks until every accepted request has finished
            drained = true;
            http.stop_when_idle(std::chrono::seconds(10));
        });
    });
    if (drainer.joinable() && !drained) {
        std::fprintf(stderr, "second signal: exiting without finishing requests\n");
        std::_Exit(1);  // the engine is still running requests; nothing left to wait for
    }
    if (drainer.joinable()) drainer.join();
    return 0;
}

}  // namespace ms::server
