#pragma once
// What the report's SVG and HTML writers share. Torch-free.
#include <string>

namespace elab {

// Text made safe inside XML/HTML: < > & and " as entities.
std::string xml_escape(const std::string& s);

}  // namespace elab
