// Routes every leadscore server has: liveness, readiness, metrics, the API contract and its
// Swagger UI (from the npm package swagger-ui-dist, served from disk: no CDN).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/http.h"

namespace http {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDocsIndex = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>leadscore API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
</script>
</body>
</html>
)html";

std::string_view content_type_for(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".map") || ends(".json")) return "application/json";
  return "application/octet-stream";
}

// Only plain file names directly inside the Swagger UI directory.
bool safe_file_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

std::string_view state_name(Readiness::State s) {
  switch (s) {
    case Readiness::State::kOk: return "ok";
    case Readiness::State::kDegraded: return "degraded";
    case Readiness::State::kDown: return "not_ready";
  }
  return "?";
}

// The first of: $<env>, <exe dir>/<sub>, <exe dir>/../<sub>, <cwd>/<sub>, <source>/<sub>
// that holds `marker`.
std::string find_asset_dir(const std::string& exe_path, const char* env_name,
                           const fs::path& sub, const char* marker) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv(env_name)) candidates.emplace_back(env);
  std::error_code ec;
  if (!exe_path.empty()) {
    const fs::path exe = fs::weakly_canonical(fs::path(exe_path), ec);
    candidates.push_back(exe.parent_path() / sub);
    candidates.push_back(exe.parent_path().parent_path() / sub);
  }
  candidates.push_back(fs::current_path(ec) / sub);
#ifdef LEADSCORE_SOURCE_DIR
  candidates.push_back(fs::path(LEADSCORE_SOURCE_DIR) / sub);
#endif
  for (const auto& c : candidates) {
    if (fs::exists(c / marker, ec)) return c.string();
  }
  return {};
}

}  // namespace

std::string find_swagger_ui_dir(const std::string& exe_path) {
  return find_asset_dir(exe_path, "LEADSCORE_SWAGGER_UI_DIR", "node_modules/swagger-ui-dist",
                        "swagger-ui-bundle.js");
}

std::string find_web_dir(const std::string& exe_path) {
  return find_asset_dir(exe_path, "LEADSCORE_WEB_DIR", "web", "index.html");
}

namespace {

// A plain file of a static directory, or 404.
void serve_static(const std::string& dir, std::string_view name, Response& res) {
  if (!safe_file_name(name) || !read_file(dir + "/" + std::string(name), res.body)) {
    res.body.clear();
    write_error(res, 404, "not_found", "no such file");
    return;
  }
  res.content_type = std::string(content_type_for(name));
}

}  // namespace

void add_builtin_routes(Server& server, const BuiltinOptions& opts) {
  auto& r = server.router();

  r.add("GET", "/healthz", Scope::kPublic, BodyPolicy::kNone, [](Request&, Response& res) {
    res.body = R"({"status":"ok"})";
    return core::ok();
  });

  r.add("GET", "/readyz", Scope::kPublic, BodyPolicy::kNone,
        [&server](Request&, Response& res) {
          std::vector<std::pair<std::string, Readiness>> checks;
          const auto state = server.check_readiness(checks);
          std::string first_down;
          std::string checks_json;
          core::JsonWriter cw(checks_json);
          cw.begin_object();
          for (const auto& [name, rd] : checks) {
            cw.key(name).begin_object().field("status", state_name(rd.state));
            cw.field("detail", std::string_view(rd.detail)).end_object();
            if (rd.state == Readiness::State::kDown && first_down.empty()) {
              first_down = name + ": " + rd.detail;
            }
          }
          cw.end_object();
          if (state == Readiness::State::kDown) {
            write_error(res, 503, "not_ready", first_down);
            // Append status and checks beside the error object.
            res.body.pop_back();
            res.body += R"(,"status":"not_ready","checks":)" + checks_json + "}";
            return core::ok();
          }
          core::JsonWriter w(res.body);
          w.begin_object().field("status", state_name(state)).key("checks").raw(checks_json);
          w.end_object();
          return core::ok();
        });

  r.add("GET", "/metrics", Scope::kPublic, BodyPolicy::kNone,
        [&server](Request&, Response& res) {
          res.content_type = "text/plain; version=0.0.4; charset=utf-8";
          res.body = server.metrics().render();
          return core::ok();
        });
  // Probes are cheap and must answer while the server is saturated (a liveness probe failing
  // then would restart a busy, healthy server): they do not count against --max-inflight.
  for (const char* probe : {"/healthz", "/readyz", "/metrics"}) {
    r.find("GET", probe)->counts_against_inflight_limit = false;
  }

  auto spec = std::make_shared<std::string>(embedded_openapi());
  if (!opts.openapi_path.empty()) {
    std::string from_disk;
    if (read_file(opts.openapi_path, from_disk)) {
      *spec = std::move(from_disk);
    } else {
      log_event("warn", "openapi_unreadable", {{"path", opts.openapi_path}});
    }
  }
  r.add("GET", "/openapi.json", Scope::kPublic, BodyPolicy::kNone,
        [spec](Request&, Response& res) {
          res.body = *spec;
          return core::ok();
        });

  const std::string dir = opts.docs_dir;
  auto docs_missing = [](Response& res) {
    write_error(res, 404, "not_found",
                "Swagger UI is not installed (run scripts/setup-deps.sh, which runs npm ci); "
                "the contract is at /openapi.json");
  };
  r.add("GET", "/docs", Scope::kPublic, BodyPolicy::kNone,
        [dir, docs_missing](Request&, Response& res) {
          if (dir.empty()) {
            docs_missing(res);
            return core::ok();
          }
          res.content_type = "text/html; charset=utf-8";
          res.body = kDocsIndex;
          return core::ok();
        });
  r.add("GET", "/docs/{file}", Scope::kPublic, BodyPolicy::kNone,
        [dir, docs_missing](Request& req, Response& res) {
          const auto name = req.param("file");
          if (dir.empty()) {
            docs_missing(res);
            return core::ok();
          }
          if (name == "index.html") {
            res.content_type = "text/html; charset=utf-8";
            res.body = kDocsIndex;
            return core::ok();
          }
          serve_static(dir, name, res);
          if (res.status == 200) res.headers.emplace_back("Cache-Control", "public, max-age=3600");
          return core::ok();
        });

  // The broker console (web/): static files, no key needed (its API calls carry the key).
  // Read from disk on every request so edits show up without a restart; no-cache for the same
  // reason.
  const std::string web = opts.web_dir;
  auto console = [web](std::string_view name, Response& res) {
    if (web.empty()) {
      write_error(res, 404, "not_found",
                  "the console (web/) was not found; start with --web-dir DIR; the API is at /docs");
      return;
    }
    serve_static(web, name, res);
    if (res.status == 200) res.headers.emplace_back("Cache-Control", "no-cache");
  };
  r.add("GET", "/", Scope::kPublic, BodyPolicy::kNone, [console](Request&, Response& res) {
    console("index.html", res);
    return core::ok();
  });
  r.add("GET", "/console/{file}", Scope::kPublic, BodyPolicy::kNone,
        [console](Request& req, Response& res) {
          console(req.param("file"), res);
          return core::ok();
        });
}

}  // namespace http
