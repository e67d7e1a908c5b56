#pragma once
// Private to cache/: mapping a rendered Redis key name back to its digest.
#include <optional>
#include <string_view>

#include "cache/cache.h"

namespace cache {

// The digest in a rendered key name ("...:<32 lowercase hex>"), or nullopt if it has none.
std::optional<Digest> digest_from_key_name(std::string_view name);

}  // namespace cache
