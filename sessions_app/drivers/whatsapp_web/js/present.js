// The names among the given selector groups that match the page, in one round trip.
const groups = arguments[0];
const present = [];
const matches = (css) => {
  try {
    return document.querySelector(css) !== null;
  } catch (error) {
    return false;
  }
};
for (const [name, selectors] of Object.entries(groups)) {
  if (selectors.some(matches)) present.push(name);
}
return present;
