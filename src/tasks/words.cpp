#include "tasks/words.h"

namespace elab {

const std::vector<std::string>& first_names() {
  static const std::vector<std::string> names = {
      "Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jamal", "Kira", "Luis", "Maya",
      "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wendy", "Xavi", "Yuki", "Zane",
      "Amir", "Bella", "Chen", "Dana", "Emil", "Fiona", "Gita", "Hans", "Ivy", "Jonas", "Kofi", "Lena", "Marco",
      "Nina", "Oscar", "Priya", "Rafael", "Sara", "Tomas", "Uma", "Victor", "Willa", "Yara", "Zoe", "Arjun",
      "Beth", "Cyrus", "Dora", "Eli", "Freya", "Gus", "Hana", "Igor", "Jade", "Kurt", "Lola", "Milo", "Nell"};
  return names;
}

const std::vector<std::string>& object_words() {
  static const std::vector<std::string> words = {
      "apples", "pencils", "stickers", "marbles", "books", "cookies", "stamps", "shells", "coins", "cards", "eggs",
      "candles", "buttons", "beads", "flowers", "cups", "plates", "keys", "rocks", "ribbons", "balloons", "nuts",
      "pears", "lemons", "tickets", "bottles", "boxes", "bricks", "hats", "socks", "toys", "kites"};
  return words;
}

}  // namespace elab
