#pragma once
// `elab serve`: a native model (base or fine-tuned) behind an OpenAI-compatible HTTP
// API (GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions).
// Requests arriving together are decoded together: handler threads queue their prompts,
// and one model thread batches everything queued (requests with the same decoding
// settings share one generation call; each request keeps its own seed).
#include <memory>
#include <string>

#include "model/checkpoint.h"
#include "server/api.h"

namespace elab {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port (tests)
  std::string api_key;            // "": no authentication
  int max_batch = 64;             // sequences decoded together
  double batch_window_ms = 2;     // how long the model thread waits for more requests
  int http_threads = 64;          // concurrent connections being handled
  int workers = 1;                // threads sharing each decoded batch (GenerateOptions::workers)
  std::string model_name;         // the id in /v1/models ("" = the directory name)
  ServerLimits limits;            // limits.context is set from the model
};

class Server {
 public:
  Server(Checkpoint checkpoint, ServeOptions options);
  ~Server();
  int bind();    // binds host:port; returns the port (useful with port 0); Error if it cannot
  void serve();  // answers requests until stop()
  void stop();   // stops accepting; requests in flight are finished first
  const std::string& model_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace elab
