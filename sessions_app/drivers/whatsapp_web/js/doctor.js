// For every selector of every group, how many elements match (-1: the selector is invalid).
const counts = {};
for (const [name, selectors] of Object.entries(arguments[0])) {
  counts[name] = selectors.map((css) => {
    try {
      return document.querySelectorAll(css).length;
    } catch (error) {
      return -1;
    }
  });
}
return counts;
